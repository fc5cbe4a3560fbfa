"""The vectorised partitioner agrees with aiokafka's (Kafka's default) for every key length."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner, murmur2

from monitor.stream import partitioning


def test_murmur2_matches_aiokafka_for_keys_of_every_length() -> None:
    rng = random.Random(7)
    keys = [rng.randbytes(rng.randrange(0, 70)) for _ in range(2000)] + [b"", b"a", b"ab", b"abc"]
    assert partitioning.murmur2(keys).tolist() == [murmur2(key) & 0xFFFFFFFF for key in keys]


def test_partitions_match_the_default_partitioner() -> None:
    rng = random.Random(8)
    keys = [rng.randbytes(16).hex().encode() for _ in range(1000)] + [b"x" * 41]
    for partitions in ([0], [0, 1, 2, 3], [2, 0, 1], list(range(7))):
        expected = [DefaultPartitioner()(key, sorted(partitions), sorted(partitions)) for key in keys]
        assert partitioning.partitions_for(keys, partitions) == expected
