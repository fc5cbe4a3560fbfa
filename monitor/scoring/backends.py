"""The scorer FINMON_MODEL__* configures: the model (torch or ONNX Runtime), or the fixed-label instrument."""

from __future__ import annotations

import logging

from monitor.contracts import BatchScorer
from monitor.scoring.fixed_scorer import FixedScorer
from monitor.scoring.scorer import Scorer
from monitor.stage_settings import ModelSettings

log = logging.getLogger(__name__)


def load_scorer(model: ModelSettings) -> BatchScorer:
    """The configured model, or the fixed-label benchmark instrument (backend `fixed`)."""
    if model.backend == "fixed":
        log.warning("FINMON_MODEL__BACKEND=fixed: no model, every news item gets the same labels (benchmarks only)")
        return FixedScorer()
    return Scorer.from_settings(model)
