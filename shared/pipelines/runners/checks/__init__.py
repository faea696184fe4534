"""QualityCheck and ClarifyCheck steps in the embedded runtime.

A check step runs a local check job in place of the Model Monitor analyzer or Clarify image, with
their documented input and output contracts, then applies the Guide's baseline semantics
(``SkipCheck``, ``RegisterNewBaseline``, ``FailOnViolation``, supplied and registered baselines,
the ``CalculatedBaseline*``/``BaselineUsedForDriftCheck*`` properties). docs/checks.md lists what
is computed and what is refused.

* step.py: the two step runners: the local check job between ``pipelines.checks``' plan
  (flags, the previous baseline: supplied, or the latest Approved package's
  ``DriftCheckBaselines``) and its outcome (properties, violations), which the cloud runtime
  applies too;
* analyzer.py / _analyzer.py: the job's program (``model-monitor`` or ``clarify`` mode);
* datasets.py: reading datasets as the images read them;
* data_quality.py, model_quality.py, clarify.py: one analyzer per contract;
* thresholds.py: comparing a value with a threshold as Model Monitor's constraints do;
* errors.py: the analyzers' one error type for inputs they cannot analyse (the job's
  FailureReason carries its message);
* shadow.py: the temporary endpoint that MODEL_BIAS and MODEL_EXPLAINABILITY query.

The analyzers need pandas, numpy, scipy and scikit-learn (requirements.txt) and, for Clarify,
``smclarify`` (bias metrics) and ``shap`` (explanations) from requirements-extras.txt; a check
job without them fails naming the missing package.
"""

from __future__ import annotations

from pipelines.runners.checks.step import ClarifyCheckRunner, QualityCheckRunner

RUNNERS = [QualityCheckRunner(), ClarifyCheckRunner()]
"""Picked up by ``pipelines.runners.registry.default_registry``."""

__all__ = ["RUNNERS", "ClarifyCheckRunner", "QualityCheckRunner"]
