"""The fetcher against a real HTTP server on 127.0.0.1: conditional GET, gzip, limits and every failure kind."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.ingest.fetch import Fetcher, FetchError, HostGate, Validators
from monitor.ingest.politeness import HostRateLimiter
from monitor.ingest.scrape_settings import ScrapeSettings

from .feedserver import FeedServer, Route, fixture_bytes

LAST_MODIFIED = "Wed, 05 Nov 2025 20:00:00 GMT"


@pytest.fixture
def fetcher(scrape_settings: ScrapeSettings) -> Iterator[Fetcher]:
    fetcher = Fetcher(scrape_settings)
    yield fetcher
    fetcher.close()


def _error(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    assert caught.value.url == url
    return caught.value


def test_fetches_a_feed_with_a_descriptive_user_agent(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/rss"] = Route.fixture("markets.rss.xml")
    result = fetcher.fetch(feed_server.url("/rss"))
    assert result.status == 200 and result.body == fixture_bytes("markets.rss.xml")
    assert result.content_type == "application/rss+xml"
    agent = feed_server.requests_to("/rss")[0].headers["user-agent"]
    assert agent.startswith("finmon/") and "+http" in agent


def test_second_poll_with_the_etag_gets_304(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/rss"] = Route.fixture("markets.rss.xml", etag='"v1"', last_modified=LAST_MODIFIED)
    first = fetcher.fetch(feed_server.url("/rss"))
    assert first.validators == Validators('"v1"', LAST_MODIFIED)
    second = fetcher.fetch(feed_server.url("/rss"), first.validators)
    assert second.not_modified and second.body is None
    sent = feed_server.requests_to("/rss")[1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == LAST_MODIFIED


def test_last_modified_alone_also_gives_304(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/rss"] = Route.fixture("markets.rss.xml", last_modified=LAST_MODIFIED)
    result = fetcher.fetch(feed_server.url("/rss"), Validators(None, LAST_MODIFIED))
    assert result.not_modified


def test_gzip_bodies_are_decoded(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/rss.gz"] = Route.fixture("markets.rss.xml", gzip=True)
    result = fetcher.fetch(feed_server.url("/rss.gz"))
    assert result.body == fixture_bytes("markets.rss.xml")
    assert "gzip" in feed_server.requests_to("/rss.gz")[0].headers["accept-encoding"]


def test_a_slow_feed_times_out(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/slow"] = Route.fixture("markets.rss.xml", delay=5.0)
    assert _error(fetcher, feed_server.url("/slow")).kind == "timeout"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("body_only", [False, True], ids=["headers", "body"])
def test_a_trickling_server_is_cut_at_the_total_deadline(
    scrape_settings: ScrapeSettings, feed_server: FeedServer, body_only: bool
) -> None:
    """One byte every 0.2 s never trips the 0.5 s read timeout; the fetch's total deadline still ends it, whether
    the trickle is in the headers or in the body (60 s guard: without the deadline it would run for good)."""
    settings = scrape_settings.model_copy(update={"total_timeout": 1.5})
    feed_server.routes["/trickle"] = Route(trickle=0.2, trickle_body_only=body_only)
    fetcher = Fetcher(settings)
    try:
        error = _error(fetcher, feed_server.url("/trickle"))
    finally:
        fetcher.close()
    assert error.kind == "timeout" and "1.5s in all" in error.detail


def test_a_declared_oversize_body_is_refused_before_reading(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/big"] = Route(body=b"<rss>" + b"x" * 200_000)
    error = _error(fetcher, feed_server.url("/big"))
    assert error.kind == "oversize" and "Content-Length" in error.detail


def test_an_endless_body_is_cut_off_at_the_cap(fetcher: Fetcher, feed_server: FeedServer) -> None:
    """No Content-Length and no end: the fetcher stops at max_bytes instead of reading it all into memory."""
    feed_server.routes["/endless"] = Route(endless=True)
    error = _error(fetcher, feed_server.url("/endless"))
    assert error.kind == "oversize"
    assert feed_server.streamed_bytes < 256_000_000  # the server was still willing to send much more


def test_deflate_bodies_are_decoded(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/rss.z"] = Route.fixture("markets.rss.xml", deflate=True)
    assert fetcher.fetch(feed_server.url("/rss.z")).body == fixture_bytes("markets.rss.xml")


def test_a_gzip_bomb_is_cut_off_by_the_decoded_size(fetcher: Fetcher, feed_server: FeedServer) -> None:
    """20 MB of zeros compress to 20 KB: the cap counts decoded bytes, inflated at most 64 KB at a time."""
    feed_server.routes["/bomb"] = Route(body=b"<rss>" + b"\0" * 20_000_000, gzip=True)
    assert _error(fetcher, feed_server.url("/bomb")).kind == "oversize"


def test_a_corrupt_gzip_body_is_a_protocol_error(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/bad.gz"] = Route(body=b"not gzip at all", extra_headers={"Content-Encoding": "gzip"})
    assert _error(fetcher, feed_server.url("/bad.gz")).kind == "protocol"


def test_requests_to_one_host_respect_the_concurrency_limit(
    scrape_settings: ScrapeSettings, feed_server: FeedServer
) -> None:
    feed_server.routes["/slowish"] = Route.fixture("markets.rss.xml", delay=0.1)
    fetcher = Fetcher(scrape_settings.model_copy(update={"host_concurrency": 1}))
    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(fetcher.fetch, [feed_server.url("/slowish")] * 4))
    finally:
        fetcher.close()
    assert all(r.status == 200 for r in results)
    assert feed_server.max_in_flight == 1


def test_the_gate_waits_for_the_hosts_next_slot() -> None:
    waits: list[float] = []
    gate = HostGate(2, HostRateLimiter(2.0, lambda: 50.0), waits.append)
    for _ in range(3):
        with gate.enter("http://a.test/rss"):
            pass
    with gate.enter("http://b.test/rss"):
        pass
    assert waits == [2.0, 4.0]


@pytest.mark.parametrize("status", [404, 500, 503])
def test_http_errors(fetcher: Fetcher, feed_server: FeedServer, status: int) -> None:
    feed_server.routes["/err"] = Route(body=b"oops", status=status, content_type="text/plain")
    error = _error(fetcher, feed_server.url("/err"))
    assert (error.kind, error.detail) == ("http_status", f"HTTP {status}")


def test_wrong_content_type(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/png"] = Route(body=b"\x89PNG....", content_type="image/png")
    assert _error(fetcher, feed_server.url("/png")).kind == "content_type"


def test_an_html_page_is_not_a_feed_but_mislabelled_rss_is(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/page"] = Route.fixture("boeing-order.html")
    feed_server.routes["/rss.html"] = Route(body=fixture_bytes("markets.rss.xml"), content_type="text/html")
    assert _error(fetcher, feed_server.url("/page")).kind == "content_type"
    assert fetcher.fetch(feed_server.url("/rss.html")).body == fixture_bytes("markets.rss.xml")


def test_redirects_are_followed_up_to_the_limit(fetcher: Fetcher, feed_server: FeedServer) -> None:
    feed_server.routes["/rss"] = Route.fixture("markets.rss.xml")
    feed_server.routes["/moved"] = Route(status=301, location="/rss")
    feed_server.routes["/loop"] = Route(status=302, location="/loop")
    assert fetcher.fetch(feed_server.url("/moved")).url == feed_server.url("/rss")
    assert _error(fetcher, feed_server.url("/loop")).kind == "redirects"
    assert len(feed_server.requests_to("/loop")) == fetcher.settings.max_redirects + 1


def test_connection_refused(fetcher: Fetcher, feed_server: FeedServer) -> None:
    port = int(feed_server.base.rsplit(":", 1)[1])
    feed_server.stop()
    assert _error(fetcher, f"http://127.0.0.1:{port}/rss").kind == "connect"


def test_unknown_host(fetcher: Fetcher) -> None:
    assert _error(fetcher, "http://finmon-feed.invalid/rss").kind == "dns"
