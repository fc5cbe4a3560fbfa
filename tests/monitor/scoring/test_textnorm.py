from monitor.scoring.textnorm import normalize


def test_links_entities_and_whitespace_are_cleaned_and_cashtags_kept() -> None:
    text = "  $AAPL &amp; $MSFT\u00a0rally   https://t.co/AbC123 more at www.example.com/x \n"
    assert normalize(text) == "$AAPL & $MSFT rally more at"


def test_double_escaped_entities_and_control_characters() -> None:
    assert normalize("S&amp;amp;P 500\x00 up") == "S&P 500 up"
