"""Which baseline a check step compares against, and which one it hands on.

The Guide ("Working with baselines", "Baseline calculation, drift detection and lifecycle"):
a supplied baseline (``SuppliedBaselineConstraints``/``SuppliedBaselineStatistics``) always
wins; otherwise the step reads the ``DriftCheckBaselines`` of the latest Approved version in
``ModelPackageGroupName``. Which member of ``DriftCheckBaselines`` belongs to which check type
follows the API shape (and how the AWS notebooks wire them): DATA_QUALITY ->
``ModelDataQuality``, MODEL_QUALITY -> ``ModelQuality``, DATA_BIAS ->
``Bias.PreTrainingConstraints``, MODEL_BIAS -> ``Bias.PostTrainingConstraints``,
MODEL_EXPLAINABILITY -> ``Explainability.Constraints``.

Only URIs are resolved here: the files are read by the check job, and only when the check runs
(with ``SkipCheck`` a supplied baseline may not exist yet). The registry is whichever the runtime
has (:class:`BaselineRegistry`): the local ``pipelines.registry.ModelRegistry``, or SageMaker's
model registry read as the pipeline's role in the cloud (``pipelines.runtime.check_steps``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pipelines.registry import RegistryNotFound


class BaselineRegistry(Protocol):
    """What the lookup needs of a model registry: a group's ModelPackageSummary entries newest
    first, and DescribeModelPackage (raising ``RegistryNotFound`` for a version gone since)."""

    def list_model_packages(self, group: str) -> Iterable[Mapping[str, Any]]: ...

    def describe_model_package(self, name_or_arn: str) -> Mapping[str, Any]: ...


# check type -> (member of DriftCheckBaselines, its statistics key or None, its constraints key)
DRIFT_CHECK_MEMBERS: dict[str, tuple[str, str | None, str]] = {
    "DATA_QUALITY": ("ModelDataQuality", "Statistics", "Constraints"),
    "MODEL_QUALITY": ("ModelQuality", "Statistics", "Constraints"),
    "DATA_BIAS": ("Bias", None, "PreTrainingConstraints"),
    "MODEL_BIAS": ("Bias", None, "PostTrainingConstraints"),
    "MODEL_EXPLAINABILITY": ("Explainability", None, "Constraints"),
}


@dataclass(frozen=True)
class Baseline:
    """A baseline's files by S3 URI (Clarify baselines have constraints only)."""

    constraints: str | None
    statistics: str | None = None
    source: str = ""  # where it came from, for messages

    @property
    def empty(self) -> bool:
        return self.constraints is None and self.statistics is None

    def to_json(self) -> dict[str, str]:
        """The baseline as the cloud carries it through a StepRunner's report."""
        found = {"constraints": self.constraints, "statistics": self.statistics, "source": self.source}
        return {key: value for key, value in found.items() if value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Baseline:
        return cls(data.get("constraints"), data.get("statistics"), str(data.get("source") or ""))


def supplied_baseline(constraints: Any, statistics: Any) -> Baseline | None:
    """The supplied baseline, or None when neither URI is set (an empty string is unset: the
    SDK's tests pass ``""`` as a parameter's default)."""
    constraints_uri = constraints if isinstance(constraints, str) and constraints else None
    statistics_uri = statistics if isinstance(statistics, str) and statistics else None
    if constraints_uri is None and statistics_uri is None:
        return None
    return Baseline(constraints_uri, statistics_uri, "the supplied baseline")


def registered_baseline(registry: BaselineRegistry, group: str, check_type: str) -> Baseline | None:
    """The check type's DriftCheckBaselines on the latest Approved version of ``group``, or None."""
    member, statistics_key, constraints_key = DRIFT_CHECK_MEMBERS[check_type]
    for summary in registry.list_model_packages(group):
        if summary.get("ModelApprovalStatus") != "Approved":
            continue
        try:
            package = registry.describe_model_package(str(summary["ModelPackageArn"]))
        except RegistryNotFound:
            continue
        baselines = (package.get("DriftCheckBaselines") or {}).get(member) or {}
        found = Baseline(
            _uri(baselines.get(constraints_key)),
            _uri(baselines.get(statistics_key)) if statistics_key else None,
            f"DriftCheckBaselines.{member} of {package['ModelPackageArn']} (the latest Approved version "
            f"in model package group {group})",
        )
        return None if found.empty else found
    return None


def _uri(source: Any) -> str | None:
    if isinstance(source, Mapping) and isinstance(source.get("S3Uri"), str):
        return str(source["S3Uri"])
    return None
