"""The arithmetic of the detector: an age-weighted baseline share, Bernoulli CUSUM increments, the threshold.

Pure functions and one small value class; the state machine that uses them is alerts/detector.py.

- Baseline: negatives and news weighted by age (weight halves every `half_life`), shrunk towards the parent
  share (all news) with the weight of `prior_weight` news, plus `uncertainty` standard errors so that a thin
  history errs towards fewer alerts.
- Evidence: for each watched lift L, p1 = L·p0 (at most 0.9) against the null pn = p0, or 1.2·p0 for the
  lowest lift (an indifference zone: a baseline that is a little off must not page a busy scope; the higher
  lifts' break-even share is far above any such error), a step with `neg` negatives of `n` news adds
  neg·log(p1/pn) + (n−neg)·log((1−p1)/(1−pn)) (the sum of the per-item log-likelihood ratios), divided by the
  scope's overdispersion φ (syndicated copies make counts vary more than binomial), to a one-sided CUSUM
  S = max(0, S + x). A busy scope reaches the threshold within minutes, a quiet one after more news.
- Threshold: under the baseline, a CUSUM restarting from 0 reaches h with probability at most e^-h (Wald), and
  it restarts at most once per news item and once per step. So h = log(K·starts/r) + CALIBRATION, with K the
  number of CUSUMs the scope watches (those its volume can show, alerts/detector.py), `starts` = min(news,
  steps) per week and r the false alarms per week the rule asks for.
  CALIBRATION was measured with `finmon alerts simulate` (the bound is loose: most restarts die at once).
- Bursts: a company event is a volume burst and a share jump together, so its negatives arrive at many times
  the scope's usual negatives per step, μ0 = (the scope's seasonal news per step) × p0. For each count lift
  L a Poisson CUSUM adds neg·log L − (L−1)·μ0 per step (divided by φ); it may fire only while the news since
  it started show the share raised and the volume raised too (`share_raised`, `volume_raised`): a flood of
  neutral news lowers the share, a drifting share brings no more news, a few negative items give no count
  evidence. The bursts get BURST_BUDGET of the false-alarm rate, the share
  CUSUMs the rest; each bank's threshold is the Wald bound above with its own count of CUSUMs and restarts
  (a Poisson CUSUM restarts at most once per negative and per step).
  The bursts judge distinct stories whenever the source knows them (also under `count: items`): a syndicated
  story's copies are one piece of news, not a burst. Their share test is against the scope's central share
  (its own history shrunk towards all news with BURST_PRIOR_WEIGHT news, no uncertainty added: the
  baseline's caution belongs to the threshold, not to the question "is the share up?"), and the volume test
  against the scope's usual news at this hour, never raised by a busy last hour (a burst after a flood is
  still a burst).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WEEK_S = 7 * 86400.0
CALIBRATION = -1.25  # nats off the Wald bound, measured by simulation (docs/alerts.md), counting stories
ITEMS_CALIBRATION = -0.5  # counting items: a syndicated story's copies add evidence, so the bound is less loose
MIN_THRESHOLD = math.log(200.0)  # never fire on less than 200:1 evidence, whatever the rule asks
INDIFFERENCE = 1.2  # the null of the lowest-lift CUSUM: up to 1.2x the baseline (baselines are never exact)
STEP_CAP = 0.6  # one step adds at most this fraction of h: a clump of duplicates in one step cannot fire alone
MAX_P = 0.995
MAX_P1 = 0.9  # an alternative share above this would make one non-negative news item veto a surge
BURST_BUDGET = 0.25  # the share of the false-alarm rate the burst (count) CUSUMs spend
BURST_CALIBRATION = -0.5  # nats off the bursts' Wald bound, measured by simulation (docs/alerts.md)
RAISED_NATS = 3.0  # a burst fires only if its news favour a raised volume by e^3 ≈ 20 to 1
VOLUME_LIFT = 2.0  # ... with at least twice the scope's usual news
BURST_SHARE_LIFT = 1.6  # ... and a share at least 1.6x the central share (or min_lift if higher): a drifting
# share and a busy morning together do not make a company event (its share is 2-4x)
SHARE_RAISED_NATS = 1.0  # ... favoured over the central share by e^1 at least: the count CUSUM already holds the
# evidence against chance; this asks only that the negatives did not come with the volume (e^3 here missed events
# whose share a concurrent flood of other news diluted: docs/alerts.md)
MIN_BURST_NEGATIVES = 5  # and at least as many negatives as one story and its copies (syndicated 1-4 times) make
BURST_PRIOR_WEIGHT = 20.0  # news the all-news share counts as in the central share the bursts' share test uses


@dataclass
class Ewma:
    """Negatives and news weighted by age; `at` is the end (epoch seconds) of the last step added."""

    neg: float = 0.0
    tot: float = 0.0
    at: float | None = None

    def decayed(self, at: float, half_life_s: float) -> Ewma:
        """The same counts as seen at `at` (older weights halve every half_life)."""
        if self.at is None or at <= self.at:
            return Ewma(self.neg, self.tot, at if self.at is None else self.at)
        factor = 0.5 ** ((at - self.at) / half_life_s)
        return Ewma(self.neg * factor, self.tot * factor, at)

    def add(self, neg: float, n: float, at: float, half_life_s: float, weight: float = 1.0) -> Ewma:
        base = self.decayed(at, half_life_s)
        return Ewma(base.neg + weight * neg, base.tot + weight * n, at)

    def share(self) -> float | None:
        return self.neg / self.tot if self.tot > 0 else None


def shrunk_share(own: Ewma, prior: float, prior_weight: float, uncertainty: float) -> float:
    """The baseline share: own history shrunk towards `prior`, plus `uncertainty` standard errors."""
    weight = own.tot + prior_weight
    share = (own.neg + prior_weight * prior) / weight if weight > 0 else prior
    share = min(max(share, 0.5 / (weight + 1.0)), MAX_P)
    spread = math.sqrt(share * (1.0 - share) / (weight + 1.0))
    return min(share + uncertainty * spread, MAX_P)


def llr_terms(p0: float, lift: float, null_lift: float = 1.0) -> tuple[float, float] | None:
    """(per negative, per other news) log-likelihood ratio of share lift·p0 against null_lift·p0; None if the
    alternative is not above the null."""
    p1, pn = min(lift * p0, MAX_P1), min(null_lift * p0, MAX_P)
    if p1 <= pn:
        return None
    return math.log(p1 / pn), math.log((1.0 - p1) / (1.0 - pn))


def evidence_per_news(p0: float, lift: float, null_lift: float = 1.0) -> float:
    """The mean log-likelihood ratio one news item adds while the share is at lift·p0 (the Kullback-Leibler
    divergence of the alternative from the null): a scope needs about h / this many news to show that lift."""
    terms = llr_terms(p0, lift, null_lift)
    if terms is None:
        return 0.0
    p1 = min(lift * p0, MAX_P1)
    return p1 * terms[0] + (1.0 - p1) * terms[1]


def threshold(
    rate_per_s: float, step_s: float, cusums: int, false_alarms_per_week: float, calibration: float = CALIBRATION
) -> float:
    """h for a scope that gets `rate_per_s` news a second (see the module docstring)."""
    starts = max(1.0, min(rate_per_s * WEEK_S, WEEK_S / step_s))
    return max(MIN_THRESHOLD, math.log(cusums * starts / false_alarms_per_week) + calibration)


def share_raised(neg: float, n: float, p0: float, min_lift: float, min_negatives: int = MIN_BURST_NEGATIVES) -> bool:
    """Whether `neg` of `n` news show a share raised by at least `min_lift` over p0, the one-sided binomial
    log-likelihood ratio at the observed share reaching SHARE_RAISED_NATS, with `min_negatives` at least."""
    if n <= 0 or neg < min_negatives or neg < min_lift * p0 * n:
        return False
    share = neg / n
    llr = neg * math.log(share / p0)
    if neg < n:
        llr += (n - neg) * math.log((1.0 - share) / (1.0 - p0))
    return llr >= SHARE_RAISED_NATS


def volume_raised(n: float, usual: float) -> bool:
    """Whether `n` news where `usual` were expected show a volume raised by VOLUME_LIFT at least, the one-sided
    Poisson log-likelihood ratio at the observed rate reaching RAISED_NATS."""
    usual = max(usual, 1e-9)
    return n >= VOLUME_LIFT * usual and n * math.log(n / usual) - (n - usual) >= RAISED_NATS


def burst_increment(neg: float, expected_neg: float, lift: float) -> float:
    """The Poisson log-likelihood ratio of `neg` negatives in a step at `lift` times `expected_neg` against it."""
    return neg * math.log(lift) - (lift - 1.0) * expected_neg


def burst_threshold(neg_rate_per_s: float, step_s: float, cusums: int, false_alarms_per_week: float) -> float:
    """h of the burst CUSUMs of a scope with `neg_rate_per_s` usual negatives a second (module docstring)."""
    starts = max(1.0, min(neg_rate_per_s * WEEK_S, WEEK_S / step_s))
    rate = BURST_BUDGET * false_alarms_per_week
    return max(MIN_THRESHOLD, math.log(max(cusums, 1) * starts / rate) + BURST_CALIBRATION)
