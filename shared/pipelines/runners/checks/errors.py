"""The one error type the check job's analyzers raise for inputs they cannot analyse.

The job writes its message to ``/opt/ml/output/failure`` and exits 1, so the step's
FailureReason carries it (analyzer.py). Each analyzer has its own subclass.
"""

from __future__ import annotations


class AnalysisError(ValueError):
    """The dataset, the config or a baseline cannot be analysed; the message says why."""
