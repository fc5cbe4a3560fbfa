"""Wire schemas: NewsItem on news.raw, ScoredNews on news.scored and in Elasticsearch (versioned JSON)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.news.ids import news_id

SCHEMA_VERSION = 1
SENTIMENT_LABELS = ("negative", "neutral", "positive")
# The topic names of the shared Twitter Financial News topic set, in its id order.
TOPIC_LABELS = (
    "Analyst Update",
    "Fed | Central Banks",
    "Company | Product News",
    "Treasuries | Corporate Debt",
    "Dividend",
    "Earnings",
    "Energy | Oil",
    "Financials",
    "Currencies",
    "General News | Opinion",
    "Gold | Metals | Materials",
    "IPO",
    "Legal | Regulation",
    "M&A | Investments",
    "Macro",
    "Markets",
    "Politics",
    "Personnel Change",
    "Stock Commentary",
    "Stock Movement",
)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class NewsItem(BaseModel):
    """One news article or headline as the scraper (or `finmon replay`) publishes it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, populate_by_name=True)

    schema_version: int = Field(SCHEMA_VERSION, alias="v", validation_alias=AliasChoices("v", "schema_version"))
    id: str = Field("", max_length=256)
    url: str | None = Field(None, max_length=4096)
    source: str | None = Field(None, max_length=256)
    title: str = Field("", max_length=2000)
    text: str = Field("", max_length=200_000, validation_alias=AliasChoices("text", "summary", "body"))
    published_at: datetime | None = None
    fetched_at: datetime | None = None
    language: str | None = Field(None, max_length=16)
    tickers: list[str] = Field(default_factory=list, max_length=200)
    story_id: str | None = None
    is_first: bool | None = None

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if not 1 <= version <= SCHEMA_VERSION:
            raise ValueError(f"unsupported schema version {version} (this finmon reads 1..{SCHEMA_VERSION})")
        return version

    @field_validator("published_at", "fetched_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @field_validator("tickers")
    @classmethod
    def _upper_tickers(cls, tickers: list[str]) -> list[str]:
        return sorted({t.strip().lstrip("$").upper() for t in tickers if t.strip().lstrip("$")})

    @model_validator(mode="after")
    def _complete(self) -> NewsItem:
        if not self.title and not self.text:
            raise ValueError("a news item needs a title or a text")
        if not self.id:
            published = self.published_at.isoformat() if self.published_at else ""
            self.id = news_id(self.url, source=self.source, title=self.title or self.text[:200], published=published)
        return self

    @property
    def content(self) -> str:
        """What the model reads: the title, then the text when it adds anything."""
        if self.text and self.text != self.title:
            return f"{self.title}. {self.text}" if self.title else self.text
        return self.title

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


class SentimentProbs(BaseModel):
    negative: float
    neutral: float
    positive: float


class ScoredNews(NewsItem):
    """A NewsItem with the model's topic and sentiment."""

    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_probs: SentimentProbs
    sentiment_score: float = Field(ge=-1.0, le=1.0, description="P(positive) - P(negative)")
    windows: int = Field(1, ge=1, description="model windows the text was scored over")
    model_name: str
    model_version: str
    model_hash: str | None = Field(None, max_length=64, description="short content hash of the model files")
    scored_at: datetime

    @property
    def event_at(self) -> datetime:
        """When the news happened, for alerting: published_at, else fetched_at, else scored_at; never after
        scored_at (a feed's clock ahead of ours must not place news in a step not judged yet)."""
        scored = _as_utc(self.scored_at) or self.scored_at
        return min(self.published_at or self.fetched_at or scored, scored)


class EncodedNews:
    """A ScoredNews and its JSON (`to_json`), serialised on first use and then kept: the worker sends the same
    bytes to Elasticsearch and to news.scored, so each document is serialised once."""

    __slots__ = ("_json", "doc")

    def __init__(self, doc: ScoredNews) -> None:
        self.doc = doc
        self._json: bytes | None = None

    @property
    def json(self) -> bytes:
        if self._json is None:
            self._json = self.doc.to_json()
        return self._json
