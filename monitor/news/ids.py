"""Canonical URLs and the stable news id derived from them (pure)."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, never the article.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "cmpid",
        "ncid",
        "ocid",
        "sr_share",
        "smid",
        "mod",
        "ref",
        "ref_src",
        "src",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "spm",
        "share",
        "taid",
        "cid",
        "rss",
        "feed",
    }
)
TRACKING_PREFIXES = ("utm_", "mkt_", "pk_", "hsa_", "at_", "itm_")
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """Lowercase scheme and host, drop default ports, fragments and tracking parameters, sort the query."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower() or "http"
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == str(port) else f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def stable_hash(*parts: str) -> str:
    """A 32-hex-digit digest of the parts, stable across processes and versions."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def news_id(url: str | None, *, source: str | None = None, title: str = "", published: str = "") -> str:
    """The id of a news item: the hash of its canonical URL, or of source+title+time when it has no URL."""
    if url:
        return stable_hash("url", canonical_url(url))
    return stable_hash("item", (source or "").lower(), " ".join(title.lower().split()), published)
