"""Ticker extraction: cashtags, exchange prefixes, company names, and the false friends that must not match."""

from __future__ import annotations

import pytest

from monitor.ingest.companies import default_extractor, load_companies
from monitor.ingest.tickers import Company, TickerExtractor, parse_companies


@pytest.mark.parametrize(
    ("text", "tickers"),
    [
        ("Buy $AAPL and $brk.b now", ["AAPL", "BRK.B"]),
        ("$TSLA, $NVDA.", ["NVDA", "TSLA"]),
        ("Goldman Sachs (NYSE: GS) beats; NASDAQ:AAPL flat", ["AAPL", "GS"]),
        ("Listed as LON:BARC and Nasdaq: MSFT", ["BARC", "MSFT"]),
        ("Apple shares fall after iPhone sales miss", ["AAPL"]),
        ("Apple unveils a new iPhone in Cupertino", ["AAPL"]),
        ("Microsoft’s cloud grows; Alphabet's Google too", ["GOOGL", "MSFT"]),
        ("JPMorgan Chase & Co posts record profit", ["JPM"]),
        ("Meta to cut jobs, Zuckerberg says", ["META"]),
        ("Coca-Cola and PepsiCo raise prices", ["KO", "PEP"]),
        ("AT&T and T-Mobile sign a deal", ["T", "TMUS"]),
        ("Target stores report weak sales", ["TGT"]),
        ("Shell profit jumps on LNG trading", ["SHEL"]),
    ],
)
def test_finds_tickers(text: str, tickers: list[str]) -> None:
    assert default_extractor().extract(text) == tickers


@pytest.mark.parametrize(
    "text",
    [
        "Apple pie and other autumn bakes",
        "Meta-analysis finds coffee is good for you",
        "A meta-analysis of 40 trials",
        "apple orchards in bloom",
        "Target price raised",
        "Shell game on the boardwalk",
        "The Amazon rainforest is burning",
        "Visa rules tighten for students",
        "Costs $5 or $US 5bn, $100",
        "Email me at price$AAPL",
        "The snowflake melted",
    ],
)
def test_false_friends_do_not_match(text: str) -> None:
    assert default_extractor().extract(text) == []


def test_business_words_must_be_near_an_ambiguous_name() -> None:
    text = "Apple pie and other autumn bakes." + " Recipes follow." * 20 + " Bakery chain shares fell."
    assert default_extractor().extract(text) == []


def test_an_ambiguous_name_counts_when_its_cashtag_is_there() -> None:
    assert default_extractor().extract("Target ($TGT) cuts guidance") == ["TGT"]


def test_the_shipped_table_is_large_and_consistent() -> None:
    companies = load_companies()
    tickers = [c.ticker for c in companies]
    assert len(companies) >= 150
    assert len(set(tickers)) == len(tickers)
    assert all(c.name and c.exchange for c in companies)
    assert all(c.context for c in companies if c.ambiguous == 2), "names that need context must list some"


def test_a_custom_table_is_parsed_with_aliases_and_context() -> None:
    table = "ticker,exchange,name,aliases,ambiguous,context\nACME,NYSE,Acme,Acme Corp|ACME Inc,2,anvils|rockets\n"
    (acme,) = parse_companies(table)
    assert acme == Company("ACME", "NYSE", "Acme", ("Acme Corp", "ACME Inc"), 2, ("anvils", "rockets"))
    extractor = TickerExtractor([acme])
    assert extractor.extract("Acme Corp results") == ["ACME"]
    assert extractor.extract("Acme sells more anvils") == ["ACME"]
    assert extractor.extract("Acme shares rise") == []  # ambiguous=2: business words are not enough
