"""Feed parsing: RSS and Atom with feedparser, JSON Feed (1.0/1.1) by its spec; one RawEntry shape for all."""

from __future__ import annotations

import calendar
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

log = logging.getLogger(__name__)


class FeedParseError(Exception):
    """The body is not a feed we can read (malformed XML without entries, invalid JSON Feed)."""


@dataclass(frozen=True)
class RawEntry:
    """One feed entry as published, before normalisation."""

    link: str | None
    guid: str | None
    title: str
    summary: str
    published: datetime | None
    language: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    language: str | None
    entries: list[RawEntry] = field(default_factory=list)


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse a feed body fetched from `url` (used to resolve relative links)."""
    if "json" in content_type or body.lstrip()[:1] == b"{":
        return parse_json_feed(body)
    return parse_xml_feed(body, url, content_type)


def parse_xml_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """RSS 0.9x/1.0/2.0 and Atom via feedparser; tolerates recoverable errors, refuses feeds with no entries."""
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
    usable = [e for e in parsed.entries if e.get("title") or e.get("link") or e.get("summary")]
    if parsed.get("bozo") and not usable:
        raise FeedParseError(f"malformed feed: {parsed.get('bozo_exception')}")
    if not parsed.get("version") and not usable:
        raise FeedParseError("not an RSS or Atom feed")
    if parsed.get("bozo"):
        log.warning("feed %s has errors but entries were read: %s", url, parsed.get("bozo_exception"))
    feed = parsed.feed
    return ParsedFeed(
        title=str(feed.get("title", "")),
        language=feed.get("language") or None,
        entries=[_xml_entry(e) for e in usable],
    )


def _xml_entry(entry: Any) -> RawEntry:
    content = entry.get("content") or []
    summary = entry.get("summary", "") or (content[0].get("value", "") if content else "")
    return RawEntry(
        link=entry.get("link") or None,
        guid=entry.get("id") or None,
        title=entry.get("title", ""),
        summary=summary,
        published=_struct_time(entry.get("published_parsed") or entry.get("updated_parsed")),
        language=(entry.get("title_detail") or {}).get("language") or None,
        tags=tuple(t.get("term", "") for t in entry.get("tags", []) if t.get("term")),
    )


def _struct_time(value: Any) -> datetime | None:
    """feedparser's UTC struct_time to an aware datetime."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def parse_json_feed(body: bytes) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedParseError(f"malformed JSON feed: {exc}") from None
    if not isinstance(data, dict) or "jsonfeed.org/version/" not in str(data.get("version", "")):
        raise FeedParseError("not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedParseError("JSON Feed without an items list")
    language = data.get("language") if isinstance(data.get("language"), str) else None
    entries = [_json_entry(item) for item in items if isinstance(item, dict)]
    return ParsedFeed(title=str(data.get("title", "")), language=language, entries=entries)


def _json_entry(item: dict[str, Any]) -> RawEntry:
    text = item.get("content_text") or item.get("summary") or item.get("content_html") or ""
    return RawEntry(
        link=_str_or_none(item.get("url") or item.get("external_url")),
        guid=_str_or_none(item.get("id")),
        title=str(item.get("title") or ""),
        summary=str(text),
        published=_iso_time(item.get("date_published") or item.get("date_modified")),
        language=_str_or_none(item.get("language")),
        tags=tuple(str(t) for t in item.get("tags", []) if isinstance(t, str)),
    )


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _iso_time(value: Any) -> datetime | None:
    """An RFC 3339 time (JSON Feed's), its `t` and `z` in either case; without a zone, UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
