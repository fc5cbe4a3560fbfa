"""Every message of the hostile mix is refused with a reason by decoding, or reaches the model (pure)."""

from __future__ import annotations

import pytest

from monitor.news.decoding import InvalidMessage, decode_news
from tests.support import poison

BAD = poison.poison("unit")


@pytest.mark.parametrize("message", BAD, ids=[m.name for m in BAD])
def test_every_poison_is_refused_with_a_reason(message: poison.Message) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode_news(message.value)
    assert caught.value.stage in ("decode", "validate") and caught.value.reason


GOOD = poison.quirky_good_news("unit") + poison.good_news("unit", 3) + [poison.es_rejected("unit")]


@pytest.mark.parametrize("message", GOOD, ids=[m.name for m in GOOD])
def test_good_news_and_the_index_only_poison_decode(message: poison.Message) -> None:
    assert decode_news(message.value).title


def test_mix_keeps_every_message_and_the_order_of_the_good_ones() -> None:
    good, bad = poison.good_news("unit", 20), BAD[:10]
    mixed = poison.mix(good, bad, seed=3)
    assert sorted(m.name for m in mixed) == sorted(m.name for m in good + bad)
    assert [m for m in mixed if m.good] == good
