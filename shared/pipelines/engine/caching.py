"""Step caching: which resolved attributes make two runs of a step "the same".

The key of each cacheable step type is the documented set of cache-key attributes, read from
the step's Arguments (and step-level fields for the check steps) after every expression was
resolved, hashed together with the step type. Entries are scoped to one pipeline by the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pipelines.definition.durations import parse_expire_after
from pipelines.definition.models import CacheConfig

_PROCESSING = ("AppSpecification", "Environment", "ProcessingInputs")
_TRAINING = (
    "AlgorithmSpecification",
    "CheckpointConfig",
    "DebugHookConfig",
    "DebugRuleConfigurations",
    "Environment",
    "HyperParameters",
    "InputDataConfig",
)
_TUNING_TRAINING_DEFINITION = (
    "AlgorithmSpecification",
    "HyperParameterRanges",
    "InputDataConfig",
    "StaticHyperParameters",
    "TuningObjective",
)
_AUTOML_JOB_CONFIG = ("CompletionCriteria", "CandidateGenerationConfig", "DataSplitConfig", "Mode")
_CHECK_FIELDS = (
    "CheckType",
    "SkipCheck",
    "RegisterNewBaseline",
    "ModelPackageGroupName",
    "SuppliedBaselineConstraints",
)
# The check steps' Arguments are the Clarify/Model Monitor processing request built from
# ClarifyCheckConfig/QualityCheckConfig and CheckJobConfig; everything but naming and tagging counts.
_CHECK_IGNORED_ARGUMENTS = frozenset({"ProcessingJobName", "Tags", "ExperimentConfig", "RoleArn"})

CACHEABLE_STEP_TYPES: frozenset[str] = frozenset(
    {"Processing", "Training", "Tuning", "AutoML", "Transform", "ClarifyCheck", "QualityCheck", "EMR", "Job"}
)
"""The docs' eight, and the v3 SDK's Job step (a ``JobStep`` takes a ``CacheConfig``)."""

_JOB_DOCUMENT_IGNORED = frozenset({"OutputDataConfig"})
"""A Job's output location is not part of its key, as a Training job's OutputDataConfig is not:
the v3 SDK scopes it by execution id, so keeping it would make every run a miss."""


def _pick(source: Any, names: Sequence[str]) -> dict[str, Any]:
    if not isinstance(source, Mapping):
        return {}
    return {name: source[name] for name in names if name in source}


def cache_key_attributes(step_type: str, arguments: Any, step_fields: Mapping[str, Any]) -> dict[str, Any]:
    """The documented cache-key attributes of a resolved step (empty for non-cacheable types)."""
    args = arguments if isinstance(arguments, Mapping) else {}
    if step_type == "Processing":
        return _pick(args, _PROCESSING)
    if step_type == "Training":
        return _pick(args, _TRAINING)
    if step_type == "Transform":
        return _pick(args, ("DataProcessing", "Environment", "ModelName", "TransformInput"))
    if step_type == "Tuning":
        attributes = _pick(args, ("HyperParameterTuningJobConfig",))
        if "TrainingJobDefinition" in args:
            attributes["TrainingJobDefinition"] = _pick(
                args["TrainingJobDefinition"], _TUNING_TRAINING_DEFINITION
            )
        if isinstance(args.get("TrainingJobDefinitions"), list):
            attributes["TrainingJobDefinitions"] = [
                _pick(d, _TUNING_TRAINING_DEFINITION) for d in args["TrainingJobDefinitions"]
            ]
        return attributes
    if step_type == "AutoML":
        attributes = _pick(args, ("AutoMLJobObjective", "InputDataConfig", "ProblemType"))
        if "AutoMLJobConfig" in args:
            attributes["AutoMLJobConfig"] = _pick(args["AutoMLJobConfig"], _AUTOML_JOB_CONFIG)
        return attributes
    if step_type in ("ClarifyCheck", "QualityCheck"):
        fields = (
            (*_CHECK_FIELDS, "SuppliedBaselineStatistics") if step_type == "QualityCheck" else _CHECK_FIELDS
        )
        attributes = _pick(step_fields, fields)
        attributes["Config"] = {k: v for k, v in args.items() if k not in _CHECK_IGNORED_ARGUMENTS}
        return attributes
    if step_type == "EMR":
        return _pick(args, ("ClusterId", "StepConfig"))
    if step_type == "Job":
        attributes = _pick(args, ("JobCategory", "JobConfigSchemaVersion"))
        attributes["JobConfigDocument"] = _job_document_key(args.get("JobConfigDocument"))
        return attributes
    return {}


def _job_document_key(document: Any) -> Any:
    """The JobConfigDocument (a JSON string) without its output location; as written when it is
    not a JSON object."""
    parsed = document
    if isinstance(document, str):
        try:
            parsed = json.loads(document)
        except ValueError:
            return document
    if not isinstance(parsed, Mapping):
        return parsed
    return {key: value for key, value in parsed.items() if key not in _JOB_DOCUMENT_IGNORED}


def cache_key(step_type: str, arguments: Any, step_fields: Mapping[str, Any]) -> str:
    attributes = cache_key_attributes(step_type, arguments, step_fields)
    canonical = json.dumps([step_type, attributes], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def caching_enabled(step_type: str, config: CacheConfig | None) -> bool:
    return config is not None and config.enabled and step_type in CACHEABLE_STEP_TYPES


def oldest_reusable(config: CacheConfig, now: datetime) -> datetime:
    """Runs that completed at or after this time are candidates (no ExpireAfter: any age)."""
    if not config.expire_after:
        return datetime.min.replace(tzinfo=now.tzinfo)
    window: timedelta = parse_expire_after(config.expire_after)
    return now - window
