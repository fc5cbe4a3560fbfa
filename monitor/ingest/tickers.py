"""Ticker extraction: $CASHTAGS, exchange-prefixed symbols and company names from a table (pure).

Company names are matched case-sensitively with word boundaries that treat a hyphen as part of the word, so
"Meta-analysis" and "apple pie" do not match. Names that are also ordinary words ("Apple", "Target", "Shell")
are flagged ambiguous in the table and only count with business context near them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

# "$US 5bn" and friends are currencies, not cashtags.
CURRENCY_TAGS = frozenset({"US", "USD", "AU", "AUD", "CA", "CAD", "NZ", "NZD", "HK", "HKD", "SG", "SGD", "NT", "MX"})
EXCHANGES = (
    "NASDAQ|NYSE|NYSEARCA|NYSEAMERICAN|NYSE American|NYSE Arca|AMEX|BATS|CBOE|OTC|OTCMKTS|OTCQX|LSE|LON|TSX|TSXV|"
    "ASX|HKEX|HKG|XETRA|ETR|FRA|EPA|EURONEXT|AMS|SWX|SIX|TYO|TSE|NSE|BSE|KRX|SGX|JSE|BMV|B3"
)
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,5}(?:[.\-][A-Za-z]{1,2})?)(?![\w$])")
_EXCHANGE = re.compile(
    rf"(?<![\w])(?:{EXCHANGES})\s?:\s?([A-Z][A-Z0-9]{{0,5}}(?:[.\-][A-Z]{{1,2}})?)(?![\w])", re.IGNORECASE
)
# Words that show a text is about business, not fruit, mythology or shellfish.
BUSINESS_WORDS = re.compile(
    r"\b(?:shares?|stocks?|earnings|revenue|profits?|losses|quarter(?:ly)?|investors?|analysts?|CEO|chief executive|"
    r"Nasdaq|NYSE|Wall Street|dividends?|guidance|valuation|market value|billion|million|acquisitions?|acquire[sd]?|"
    r"merger|antitrust|regulators?|lawsuit|layoffs|IPO|sales|company|Inc|Corp|plc|results|forecasts?|outlook)\b",
    re.IGNORECASE,
)
CONTEXT_CHARS = 200  # context words for an ambiguous name must be this close to it
NAME_LEFT = r"(?<![\w&\-])"
NAME_RIGHT = r"(?![\w&]|-\w)"


@dataclass(frozen=True)
class Company:
    """One listed company: its ticker, exchange, display name, aliases and how ambiguous its name is.

    ambiguous: 0 = the name alone is enough; 1 = the name needs business words or its own context words;
    2 = the name needs one of its own context words. Aliases are always unambiguous.
    """

    ticker: str
    exchange: str
    name: str
    aliases: tuple[str, ...] = ()
    ambiguous: int = 0
    context: tuple[str, ...] = ()


def parse_companies(text: str) -> list[Company]:
    """Companies from the shipped CSV format (ticker,exchange,name,aliases,ambiguous,context; '|' separates)."""
    companies = []
    for row in csv.DictReader(io.StringIO(text)):
        companies.append(
            Company(
                ticker=row["ticker"].strip().upper(),
                exchange=row["exchange"].strip().upper(),
                name=row["name"].strip(),
                aliases=_split(row.get("aliases", "")),
                ambiguous=int(row.get("ambiguous") or 0),
                context=_split(row.get("context", "")),
            )
        )
    return companies


def _split(field: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (field or "").split("|") if part.strip())


def _words_pattern(words: Iterable[str], flags: int = 0) -> re.Pattern[str] | None:
    ordered = sorted({w for w in words if w}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(NAME_LEFT + "(?:" + "|".join(re.escape(w) for w in ordered) + ")" + NAME_RIGHT, flags)


class TickerExtractor:
    """Finds the tickers a text mentions; build once (it compiles one pattern for the whole table)."""

    def __init__(self, companies: Iterable[Company]) -> None:
        self._by_surface: dict[str, tuple[Company, bool]] = {}
        for company in companies:
            self._by_surface.setdefault(company.name, (company, company.ambiguous > 0))
            for alias in company.aliases:
                self._by_surface.setdefault(alias, (company, False))
        self._names = _words_pattern(self._by_surface)
        self._context = {
            c.ticker: _words_pattern(c.context, re.IGNORECASE) for c, _ in self._by_surface.values() if c.context
        }

    def extract(self, text: str) -> list[str]:
        """Sorted unique tickers from cashtags, exchange-prefixed symbols and company names in the text."""
        found = set(self.cashtags(text)) | set(self.exchange_symbols(text))
        found |= self.company_tickers(text, explicit=found)
        return sorted(found)

    @staticmethod
    def cashtags(text: str) -> list[str]:
        tags = (m.group(1).upper() for m in _CASHTAG.finditer(text))
        return [t for t in tags if t not in CURRENCY_TAGS]

    @staticmethod
    def exchange_symbols(text: str) -> list[str]:
        return [m.group(1).upper() for m in _EXCHANGE.finditer(text)]

    def company_tickers(self, text: str, explicit: set[str] | frozenset[str] = frozenset()) -> set[str]:
        if self._names is None:
            return set()
        found = set()
        for match in self._names.finditer(text):
            company, ambiguous = self._by_surface[match.group(0)]
            near = text[max(0, match.start() - CONTEXT_CHARS) : match.end() + CONTEXT_CHARS]
            if not ambiguous or company.ticker in explicit or self._has_context(company, near):
                found.add(company.ticker)
        return found

    def _has_context(self, company: Company, text: str) -> bool:
        own = self._context.get(company.ticker)
        if own is not None and own.search(text):
            return True
        return company.ambiguous == 1 and BUSINESS_WORDS.search(text) is not None
