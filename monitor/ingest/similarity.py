"""MinHash signatures over normalised title + lead, and LSH band keys to find candidates fast (pure)."""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from array import array
from collections.abc import Iterable

MERSENNE = (1 << 61) - 1
NUM_PERM = 128
# 64 bands x 2 rows: a pair with Jaccard 0.4 shares a band with probability > 0.9999, so the threshold, not LSH,
# decides; unrelated items (Jaccard < 0.05) become candidates rarely enough to keep linking cheap.
BANDS = 64

_WORD = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*", re.UNICODE)
# Words that carry no story identity; syndicators also add "update", "exclusive", "breaking".
STOPWORDS = frozenset(
    """a an the and or but of in on at to for from by with as is are was were be been it its this that these those
    has have had will would can could may might says said say after before over under about into than then so not
    no new update updated exclusive breaking live report reports reportedly amid per via up down""".split()  # noqa: SIM905
)


def _stem(word: str) -> str:
    """A crude suffix strip so 'falls/fell/falling' style rewording keeps more shared tokens."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    """Lowercased, accent-folded, stemmed content words."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [_stem(w.replace("’", "'")) for w in _WORD.findall(folded) if w not in STOPWORDS]


def shingles(text: str) -> set[str]:
    """Content words and adjacent word pairs: robust to reordering, still sensitive to phrasing."""
    words = tokens(text)
    pairs = {f"{a} {b}" for a, b in itertools.pairwise(words)}
    return set(words) | pairs


def _base_hash(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "little") & MERSENNE


def _permutations(num_perm: int) -> list[tuple[int, int]]:
    """Fixed (a, b) pairs derived from a hash, so signatures are comparable across processes."""
    params = []
    for i in range(num_perm):
        digest = hashlib.blake2b(f"finmon-minhash-{i}".encode(), digest_size=16).digest()
        a = int.from_bytes(digest[:8], "little") % (MERSENNE - 1) + 1
        b = int.from_bytes(digest[8:], "little") % MERSENNE
        params.append((a, b))
    return params


PERMUTATIONS = tuple(_permutations(NUM_PERM))


def signature(features: Iterable[str]) -> tuple[int, ...]:
    """The MinHash signature of a set of shingles (all-max for an empty set)."""
    hashes = [_base_hash(s) for s in set(features)]
    if not hashes:
        return (MERSENNE,) * NUM_PERM
    return tuple(min((a * h + b) % MERSENNE for h in hashes) for a, b in PERMUTATIONS)


def similarity(left: tuple[int, ...], right: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return sum(1 for x, y in zip(left, right, strict=True) if x == y) / len(left)


def band_keys(sig: tuple[int, ...], bands: int = BANDS) -> list[tuple[int, int]]:
    """(band index, band hash) keys: items sharing any key are candidate near-duplicates."""
    rows = len(sig) // bands
    return [(i, hash(sig[i * rows : (i + 1) * rows])) for i in range(bands)]


def to_bytes(sig: tuple[int, ...]) -> bytes:
    return array("Q", sig).tobytes()


def from_bytes(data: bytes) -> tuple[int, ...]:
    values = array("Q")
    values.frombytes(data)
    return tuple(values)
