"""Unlabelled news-style text from finmon's own material, for distillation (`--unlabelled builtin:news`).

The training sets are tweets of news outlets; finmon scores headlines and article leads as feeds write them.
This corpus gives a student the news register, labelled by the teacher's soft labels: the demo feed's
headlines and leads (monitor/demo/feed.jsonl, written for finmon) and headlines generated from finmon's
company list (monitor/ingest/data/companies.csv) with the event patterns below, written for this purpose
and kept apart from training/data/news_eval.csv, which is never trained on. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

BUILTIN = "builtin:news"
NEWS_EVAL = Path(__file__).parent / "data" / "news_eval.csv"

# Event patterns across the topics and all three polarities; {c} company, {p}/{q} percentages, {n} a number,
# {m} a month, {x} a second company. The teacher decides their labels.
PATTERNS = (
    "{c} shares fall {p}% after quarterly revenue misses estimates",
    "{c} beats profit forecasts and raises full-year outlook",
    "{c} reports quarterly results in line with expectations",
    "{c} stock climbs {p}% as demand for its new products surges",
    "{c} slumps to a {n}-month low on weak guidance",
    "{c} to cut {n},000 jobs in restructuring as sales slow",
    "{c} names new chief financial officer",
    "{c} chief executive steps down with immediate effect",
    "{c} raises quarterly dividend by {p}%",
    "{c} suspends dividend to preserve cash",
    "{c} agrees to buy {x} in ${n} billion deal",
    "{c} walks away from planned takeover of {x}",
    "{c} shares jump after {x} makes a takeover approach",
    "{c} faces regulatory probe over accounting practices",
    "{c} settles lawsuit with regulators for ${n} million",
    "{c} wins antitrust case; shares edge higher",
    "{c} downgraded to underweight by analysts citing margin pressure",
    "{c} upgraded to buy; price target raised to ${n}0",
    "Analysts keep neutral rating on {c} ahead of earnings",
    "{c} files for initial public offering of its cloud unit",
    "{c} prices $1.{n} billion bond offering",
    "{c} credit rating cut to junk by ratings agency",
    "{c} unveils new product line at annual event",
    "{c} recalls {n}0,000 vehicles over safety defect",
    "{c} signs multi-year supply agreement with {x}",
    "{c} to invest ${n} billion in new plant",
    "{c} warns of losses as costs climb",
    "{c} shares little changed after annual meeting",
    "{c} buys back ${n} billion of its own stock",
    "{c} plunges {p}% after fraud allegations by short seller",
    "{c} shares rally {p}% on strong subscriber growth",
    "{c} to hold investor day on {m} {n}",
    "{c} extends losing streak as investors rotate out of the sector",
    "{c} hits record high after {x} partnership",
    "{c} misses deadline for filing annual report",
    "{c} wins ${n} billion government contract",
)
MACRO = (
    "Fed holds rates steady and signals patience on cuts",
    "Fed raises rates by a quarter point to fight inflation",
    "Central bank cuts rates for the first time in {n} years",
    "Inflation cools to {p}.{n}% in {m}, below forecasts",
    "Inflation accelerates unexpectedly to {p}.{n}% in {m}",
    "US economy adds {n}00,000 jobs in {m}; unemployment steady",
    "Jobless claims rise to highest level in {n} months",
    "GDP growth slows to {p}.{n}% as consumer spending weakens",
    "Treasury yields climb to {n}-year high on strong data",
    "Dollar slides against the euro after weak retail sales",
    "Yen strengthens as Bank of Japan hints at tightening",
    "Oil jumps {p}% after OPEC agrees to deeper output cuts",
    "Oil prices slump as inventories build for a {n}th week",
    "Gold hits record as investors seek safety",
    "Copper prices retreat as factory data disappoints",
    "Stocks close at record highs led by technology shares",
    "Global stocks tumble as recession fears grow",
    "Markets mixed as investors await central bank decision",
    "Lawmakers reach deal to avert government shutdown",
    "New tariffs on imports rattle markets",
    "Bank stocks slide as deposit outflows raise concerns",
    "Regulators propose tougher capital rules for banks",
    "IPO market reopens with strongest week since {m}",
    "Corporate bond issuance hits record in {m}",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")


def builtin_news(seed: int = 13, per_company: int = 8) -> list[str]:
    """The demo feed's headlines and leads, plus generated company and market headlines."""
    rng = random.Random(seed)
    texts = list(_demo_texts())
    companies = _company_names()
    for company in companies:
        for pattern in rng.sample(PATTERNS, per_company):
            texts.append(_fill(pattern, company, rng.choice(companies), rng))
    for pattern in MACRO:
        texts.extend(_fill(pattern, "", "", rng) for _ in range(6 if "{" in pattern else 1))
    held = _grams_of(NEWS_EVAL)
    return [text for text in dict.fromkeys(texts) if not _grams(text) & held]


def _grams(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.sub(r"[^\w%$ ]", " ", text.lower()).split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _grams_of(path: Path) -> set[tuple[str, ...]]:
    """5-word sequences of the news evaluation set: generated texts sharing one are dropped."""
    if not path.is_file():
        return set()
    with path.open(encoding="utf-8", newline="") as handle:
        return set().union(*(_grams(row["text"]) for row in csv.DictReader(handle)))


def _fill(pattern: str, company: str, other: str, rng: random.Random) -> str:
    return pattern.format(
        c=company, x=other, p=rng.randint(2, 19), q=rng.randint(2, 9), n=rng.randint(2, 9), m=rng.choice(MONTHS)
    )


def _demo_texts() -> Iterator[str]:
    with (resources.files("monitor") / "demo" / "feed.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            yield item["title"]
            if item.get("text"):
                yield f"{item['title']}. {item['text']}"


def _company_names() -> list[str]:
    with (resources.files("monitor") / "ingest" / "data" / "companies.csv").open(encoding="utf-8") as handle:
        return [row["name"] for row in csv.DictReader(handle)]
