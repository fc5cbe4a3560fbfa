"""The negative share of a few news, made readable (pure): shrunk towards the series' baseline and drawn with a
Wilson interval, so one negative item in an hour of two no longer reads as 50% of the news.

The charts compute in the browser (or in Kibana) with the Vega expressions written here from these constants;
the tests hold them to a Python reference of the same formulas and to the textbook figures.

- baseline: the scope's (topic's, ticker's) share over the whole chart, itself shrunk by `PSEUDO_COUNTS`
  items towards the share of all the chart's news (a ticker with 3 items in a week has no baseline of its own);
- shrunk share: a point's share with `PSEUDO_COUNTS` items at the baseline added (the posterior mean of a
  beta-binomial whose prior is the baseline worth that many items): 1 of 1 negative at a 20% baseline is 36%,
  60 of 100 stays 58%;
- Wilson interval at 90% (z = 1.645) of the raw share: where the true share of that hour plausibly lies.
"""

from __future__ import annotations

PSEUDO_COUNTS = 4.0
Z90 = 1.645


# Vega expressions over a datum with `negative`, `total` (the point), `scope_negative`, `scope_total` (its
# series over the chart) and `all_negative`, `all_total` (every series of the chart).
def _num(value: float) -> str:
    return repr(float(value))


def overall_expr() -> str:
    return "datum.all_total > 0 ? datum.all_negative / datum.all_total : 0"


def baseline_expr(k: float = PSEUDO_COUNTS) -> str:
    return f"(datum.scope_negative + {_num(k)} * datum.overall) / (datum.scope_total + {_num(k)})"


def shrunk_expr(k: float = PSEUDO_COUNTS) -> str:
    return f"(datum.negative + {_num(k)} * datum.baseline) / (datum.total + {_num(k)})"


def _wilson_parts(z: float) -> tuple[str, str]:
    z2 = _num(z * z)
    share = "(datum.negative / datum.total)"
    centre = f"({share} + {z2} / (2 * datum.total)) / (1 + {z2} / datum.total)"
    half = (
        f"{_num(z)} / (1 + {z2} / datum.total) * "
        f"sqrt({share} * (1 - {share}) / datum.total + {z2} / (4 * datum.total * datum.total))"
    )
    return centre, half


def wilson_low_expr(z: float = Z90) -> str:
    centre, half = _wilson_parts(z)
    return f"datum.total > 0 ? max(0, {centre} - {half}) : 0"


def wilson_high_expr(z: float = Z90) -> str:
    centre, half = _wilson_parts(z)
    return f"datum.total > 0 ? min(1, {centre} + {half}) : 1"


def share_transforms(k: float = PSEUDO_COUNTS, z: float = Z90) -> list[dict[str, object]]:
    """Vega-Lite transforms from `negative`/`total` per point (and `key` per series) to `baseline`,
    `raw_share`, `negative_share` (shrunk), `low`/`high` (Wilson)."""
    return [
        {
            "joinaggregate": [
                {"op": "sum", "field": "negative", "as": "scope_negative"},
                {"op": "sum", "field": "total", "as": "scope_total"},
            ],
            "groupby": ["key"],
        },
        {
            "joinaggregate": [
                {"op": "sum", "field": "negative", "as": "all_negative"},
                {"op": "sum", "field": "total", "as": "all_total"},
            ]
        },
        {"calculate": overall_expr(), "as": "overall"},
        {"calculate": baseline_expr(k), "as": "baseline"},
        {"calculate": "datum.total > 0 ? datum.negative / datum.total : 0", "as": "raw_share"},
        {"calculate": shrunk_expr(k), "as": "negative_share"},
        {"calculate": wilson_low_expr(z), "as": "low"},
        {"calculate": wilson_high_expr(z), "as": "high"},
    ]
