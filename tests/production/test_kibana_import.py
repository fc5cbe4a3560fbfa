"""`finmon kibana import` against a real loopback HTTP server that checks the request as Kibana would."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.app import cli
from monitor.kibana import shipped
from monitor.kibana.importer import ImportFailed, KibanaTarget, import_objects

pytestmark = pytest.mark.usefixtures("no_finmon_env")


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    parts: dict[str, tuple[str | None, str, bytes]]  # form name -> (filename, content type, bytes)


@dataclass
class FakeKibana:
    """Answers POST /api/saved_objects/_import like Kibana; queued statuses let a test see retries."""

    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    response: dict[str, Any] = field(default_factory=dict)


def multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    assert message.is_multipart()
    parts = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[str(name)] = (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
    return parts


def handler_for(state: FakeKibana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            url = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = state.statuses.pop(0) if state.statuses else 200
            if status == 200:
                parts = multipart(self.headers["Content-Type"], body)
                state.requests.append(Seen(url.path, parse_qs(url.query), headers, parts))
            if status == 200 and "kbn-xsrf" not in headers:
                status = 400  # Kibana refuses API writes without it
            payload = json.dumps(state.response if status == 200 else {"statusCode": status}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def kibana() -> Iterator[FakeKibana]:
    state = FakeKibana(response={"success": True, "successCount": 8, "errors": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def test_import_sends_the_shipped_ndjson_as_multipart_with_basic_auth(
    kibana: FakeKibana, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["kibana", "import", "--url", kibana.url, "--username", "elastic", "--password", "s3cret", "--overwrite"]
    )
    assert code == 0, capsys.readouterr().err
    (seen,) = kibana.requests
    assert seen.path == "/api/saved_objects/_import" and seen.query == {"overwrite": ["true"]}
    assert seen.headers["kbn-xsrf"]
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(b"elastic:s3cret").decode()
    filename, content_type, data = seen.parts["file"]
    assert filename == "finmon.ndjson" and content_type == "application/ndjson"
    assert data == shipped().read_bytes()
    assert "imported 8 saved objects" in capsys.readouterr().out


def test_import_into_a_space_with_an_api_key_from_settings(kibana: FakeKibana, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINMON_KIBANA__URL", kibana.url + "/")
    monkeypatch.setenv("FINMON_KIBANA__API_KEY", "a2V5OnZhbHVl")
    monkeypatch.setenv("FINMON_KIBANA__SPACE", "markets")
    assert cli.main(["kibana", "import"]) == 0
    (seen,) = kibana.requests
    assert seen.path == "/s/markets/api/saved_objects/_import" and seen.query == {}
    assert seen.headers["authorization"] == "ApiKey a2V5OnZhbHVl"


def test_conflicts_without_overwrite_fail_with_a_hint(kibana: FakeKibana, capsys: pytest.CaptureFixture[str]) -> None:
    kibana.response = {
        "success": False,
        "successCount": 2,
        "errors": [{"id": "finmon-market-sentiment", "type": "dashboard", "error": {"type": "conflict"}}],
    }
    assert cli.main(["kibana", "import", "--url", kibana.url]) == 1
    err = capsys.readouterr().err
    assert "dashboard finmon-market-sentiment: conflict" in err and "--overwrite" in err


def test_a_starting_kibana_is_retried_within_wait(kibana: FakeKibana) -> None:
    kibana.statuses = [503, 503]
    slept: list[float] = []
    result = import_objects(KibanaTarget(kibana.url), b"{}\n", overwrite=True, wait=60, sleep=slept.append)
    assert result.success and result.count == 8 and len(slept) == 2


def test_an_unreachable_kibana_fails_clearly() -> None:
    from monitor.app.embedded import free_port

    with pytest.raises(ImportFailed, match="did not answer"):
        import_objects(KibanaTarget(f"http://127.0.0.1:{free_port()}"), b"{}\n", overwrite=False)


def test_no_url_is_a_settings_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["kibana", "import"]) == 2
    assert "FINMON_KIBANA__URL" in capsys.readouterr().err
