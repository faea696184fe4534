"""What an expression can read while it is evaluated: the only door to the outside world.

The evaluator is pure; the engine builds one context per step attempt (with that step's job
name in ``execution``) and decides where properties, property files and objects come from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

EXECUTION_VARIABLES: frozenset[str] = frozenset(
    {
        "PipelineName",
        "PipelineArn",
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "StartDateTime",
        "CurrentDateTime",
        "TrainingJobName",
        "ProcessingJobName",
    }
)
"""The names ``{"Get": "Execution.<Name>"}`` may use (SDK ``execution_variables.py``)."""

EXPERIMENT_CONFIG_FIELDS: frozenset[str] = frozenset({"ExperimentName", "TrialName"})


def _no_step_properties(step_name: str) -> Mapping[str, Any] | None:
    return None


def _no_property_files(step_name: str, property_file_name: str) -> Any:
    raise LookupError(f"no property file {property_file_name!r} was recorded for step {step_name!r}")


def _no_objects(uri: str) -> bytes:
    raise LookupError(f"no object store is available to read {uri}")


@dataclass(frozen=True)
class EvaluationContext:
    """Inputs of :func:`pipelines.expressions.evaluate`.

    * ``parameters``: coerced values (:func:`coerce_parameters`), by parameter name.
    * ``execution``: execution variables by name (:data:`EXECUTION_VARIABLES`). A value may be
      a zero-argument callable (``CurrentDateTime``), a ``datetime`` (rendered as
      ``2024-05-01T12:00:00.000Z``) or a plain value. ``TrainingJobName``/``ProcessingJobName``
      are set only for the step whose job they name; absent means "not available here".
    * ``step_properties``: step name -> its properties, or None while the step has none (not
      run, skipped, failed). The shapes: a job step's Describe* response; a condition step
      ``{"Outcome": true|false}`` (a JSON boolean); Lambda/Callback steps ``{"OutputParameters": [{"Name":
      n, "Value": v}, ...]}`` (as the service's step metadata lists them) or the mapping
      ``{"OutputParameters": {n: v}}``; either way ``OutputParameters['n']`` gives ``v``.
    * ``property_file``: (step name, PropertyFileName) -> the parsed JSON document. Raise
      ``LookupError``/``OSError``/``ValueError`` (or a PipelinesError) when it is missing.
    * ``read_object``: ``s3://bucket/key`` -> bytes, for ``Std:JsonGet`` with ``S3Uri``.
    * ``experiment_config``: the already-resolved ``ExperimentName`` and ``TrialName``; empty
      when ``PipelineExperimentConfig`` is null.
    """

    parameters: Mapping[str, Any] = field(default_factory=dict)
    execution: Mapping[str, Any] = field(default_factory=dict)
    step_properties: Callable[[str], Mapping[str, Any] | None] = _no_step_properties
    property_file: Callable[[str, str], Any] = _no_property_files
    read_object: Callable[[str], bytes] = _no_objects
    experiment_config: Mapping[str, Any] = field(default_factory=dict)
