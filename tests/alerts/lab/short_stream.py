"""The synthetic stream the oracle and simulate tests share: one week at a fifth of the volume, generated once."""

from __future__ import annotations

import functools

from alerts.lab.simulate import SimConfig, Stream, generate

SHORT = SimConfig(weeks=1, seed=3, scale=0.2)


@functools.cache
def stream() -> Stream:
    return generate(SHORT)
