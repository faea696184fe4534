"""Pydantic models of the pipeline definition grammar (Version 2020-12-01).

The SDK's emitted JSON is the normative grammar, not the stale official schema. Models keep
unknown fields (``extra="allow"``) so that parse-then-dump round-trips, and job steps keep
``Arguments`` as the raw Create*Job request because expressions may appear anywhere inside it.
Expressions (``{"Get": ...}``, ``{"Std:Join": ...}``, ``{"Std:JsonGet": ...}``) stay raw JSON
values here; ``pipelines.expressions`` interprets them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_serializer, model_validator

JsonValue = Any
"""A raw JSON value that may contain expressions."""

SUPPORTED_VERSION = "2020-12-01"
MAX_DEFINITION_CHARS = 1_048_576

ParameterType = Literal["String", "Integer", "Float", "Boolean"]


class _Model(BaseModel):
    """Base: keep unknown fields, allow population by field name, dump by alias."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The definition JSON for this node, without fields that were absent on input."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class Parameter(_Model):
    name: str = Field(alias="Name")
    type: ParameterType = Field(default="String", alias="Type")
    default_value: JsonValue | None = Field(default=None, alias="DefaultValue")
    enum_values: list[JsonValue] | None = Field(default=None, alias="EnumValues")

    @property
    def has_default(self) -> bool:
        return "default_value" in self.model_fields_set and self.default_value is not None


class RetryPolicy(_Model):
    exception_type: list[str] = Field(alias="ExceptionType")
    interval_seconds: int = Field(default=1, alias="IntervalSeconds")
    backoff_rate: float = Field(default=2.0, alias="BackoffRate")
    max_attempts: int | None = Field(default=None, alias="MaxAttempts")
    expire_after_min: int | None = Field(default=None, alias="ExpireAfterMin")


class CacheConfig(_Model):
    enabled: bool = Field(alias="Enabled")
    expire_after: str | None = Field(default=None, alias="ExpireAfter")


class PropertyFile(_Model):
    property_file_name: str = Field(alias="PropertyFileName")
    output_name: str = Field(alias="OutputName")
    file_path: str = Field(alias="FilePath")


class OutputParameter(_Model):
    output_name: str = Field(alias="OutputName")
    output_type: Literal["String", "Integer", "Float", "Boolean"] = Field(
        default="String", alias="OutputType"
    )


class StepBase(_Model):
    """The envelope every step type shares."""

    name: str = Field(alias="Name")
    type: str = Field(alias="Type")
    arguments: JsonValue = Field(default=None, alias="Arguments")
    depends_on: list[str] = Field(default_factory=list, alias="DependsOn")
    display_name: str | None = Field(default=None, alias="DisplayName")
    description: str | None = Field(default=None, alias="Description")
    cache_config: CacheConfig | None = Field(default=None, alias="CacheConfig")
    retry_policies: list[RetryPolicy] = Field(default_factory=list, alias="RetryPolicies")
    property_files: list[PropertyFile] = Field(default_factory=list, alias="PropertyFiles")
    run_conditions: dict[str, str] = Field(default_factory=dict, exclude=True)
    """DependsOn entries the v3 SDK emits as ``{"Step": name, "Trigger": "Failed"|"Stopped"|"Any"}``,
    by upstream step name. ``depends_on`` always holds plain names, so graph code stays simple."""

    @model_validator(mode="before")
    @classmethod
    def _split_run_conditions(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("DependsOn"), list):
            return data
        entries = data["DependsOn"]
        if dict not in map(type, entries):  # the usual plain names (a generator costs more: every step)
            return data
        names: list[Any] = []
        conditions: dict[str, str] = {}
        for entry in entries:
            if isinstance(entry, dict) and set(entry) == {"Step", "Trigger"}:
                names.append(entry["Step"])
                conditions[str(entry["Step"])] = entry["Trigger"]
            else:
                names.append(entry)
        return {**data, "DependsOn": names, "run_conditions": conditions}

    @field_serializer("depends_on")
    def _join_run_conditions(self, names: list[str]) -> list[Any]:
        return [
            {"Step": n, "Trigger": self.run_conditions[n]} if n in self.run_conditions else n for n in names
        ]

    def children(self) -> list[Step]:
        """Steps nested inside this one (condition branches, ForEach bodies); empty for other types."""
        return []


class TrainingStep(StepBase):
    type: Literal["Training"] = Field(alias="Type")


class ProcessingStep(StepBase):
    type: Literal["Processing"] = Field(alias="Type")


class TransformStep(StepBase):
    type: Literal["Transform"] = Field(alias="Type")


class TuningStep(StepBase):
    type: Literal["Tuning"] = Field(alias="Type")


class AutoMLStep(StepBase):
    type: Literal["AutoML"] = Field(alias="Type")


class ModelStep(StepBase):
    """``Type: "Model"``: a CreateModel request in Arguments."""

    type: Literal["Model"] = Field(alias="Type")


class RegisterModelStep(StepBase):
    type: Literal["RegisterModel"] = Field(alias="Type")


class FailStep(StepBase):
    type: Literal["Fail"] = Field(alias="Type")


class LambdaStep(StepBase):
    type: Literal["Lambda"] = Field(alias="Type")
    function_arn: JsonValue = Field(alias="FunctionArn")
    output_parameters: list[OutputParameter] = Field(default_factory=list, alias="OutputParameters")
    timeout_seconds: int | None = Field(default=None, alias="TimeoutSeconds")


class CallbackStep(StepBase):
    type: Literal["Callback"] = Field(alias="Type")
    sqs_queue_url: JsonValue = Field(alias="SqsQueueUrl")
    output_parameters: list[OutputParameter] = Field(default_factory=list, alias="OutputParameters")


class EMRStep(StepBase):
    type: Literal["EMR"] = Field(alias="Type")


class _CheckStep(StepBase):
    check_type: str = Field(alias="CheckType")
    model_package_group_name: JsonValue = Field(default=None, alias="ModelPackageGroupName")
    skip_check: JsonValue = Field(default=False, alias="SkipCheck")
    fail_on_violation: JsonValue = Field(default=True, alias="FailOnViolation")
    register_new_baseline: JsonValue = Field(default=False, alias="RegisterNewBaseline")
    supplied_baseline_statistics: JsonValue = Field(default=None, alias="SuppliedBaselineStatistics")
    supplied_baseline_constraints: JsonValue = Field(default=None, alias="SuppliedBaselineConstraints")


class QualityCheckStep(_CheckStep):
    type: Literal["QualityCheck"] = Field(alias="Type")


class ClarifyCheckStep(_CheckStep):
    type: Literal["ClarifyCheck"] = Field(alias="Type")
    model_name: JsonValue = Field(default=None, alias="ModelName")


class ConditionArguments(_Model):
    """Conditions stay raw JSON (expressions inside); branches are parsed steps."""

    conditions: list[JsonValue] = Field(alias="Conditions")
    if_steps: list[Step] = Field(default_factory=list, alias="IfSteps")
    else_steps: list[Step] = Field(default_factory=list, alias="ElseSteps")


class ConditionStep(StepBase):
    type: Literal["Condition"] = Field(alias="Type")
    arguments: ConditionArguments = Field(alias="Arguments")

    def children(self) -> list[Step]:
        return [*self.arguments.if_steps, *self.arguments.else_steps]


class LineageStep(StepBase):
    type: Literal["Lineage"] = Field(alias="Type")


class EndpointStep(StepBase):
    type: Literal["Endpoint"] = Field(alias="Type")


class EndpointConfigStep(StepBase):
    type: Literal["EndpointConfig"] = Field(alias="Type")


class ForEachArguments(_Model):
    """v3 SDK: ``IterableItems`` (a list, or a Get resolving to a JSON list), ``MaxConcurrency``,
    an optional ``Selector`` and the ``ForEachBody`` steps run once per item."""

    iterable_items: JsonValue = Field(alias="IterableItems")
    max_concurrency: int | None = Field(default=None, alias="MaxConcurrency")
    selector: dict[str, JsonValue] | None = Field(default=None, alias="Selector")
    body: list[Step] = Field(default_factory=list, alias="ForEachBody")


class ForEachStep(StepBase):
    type: Literal["ForEach"] = Field(alias="Type")
    arguments: ForEachArguments = Field(alias="Arguments")

    def children(self) -> list[Step]:
        return list(self.arguments.body)


class InferenceComponentStep(StepBase):
    type: Literal["InferenceComponent"] = Field(alias="Type")


class JobStep(StepBase):
    """v3 SDK ``Job`` step: a CreateJob request (JobCategory, JobConfigDocument, ...)."""

    type: Literal["Job"] = Field(alias="Type")


class CleanupStep(StepBase):
    type: Literal["Cleanup"] = Field(alias="Type")


class EMRServerlessStep(StepBase):
    type: Literal["EMRServerless"] = Field(alias="Type")


class GenericStep(StepBase):
    """A step type we do not know: kept with every field, reported as a warning."""


KNOWN_STEP_TYPES: dict[str, type[StepBase]] = {
    "Training": TrainingStep,
    "Processing": ProcessingStep,
    "Transform": TransformStep,
    "Tuning": TuningStep,
    "AutoML": AutoMLStep,
    "Model": ModelStep,
    "RegisterModel": RegisterModelStep,
    "Condition": ConditionStep,
    "Fail": FailStep,
    "Lambda": LambdaStep,
    "Callback": CallbackStep,
    "EMR": EMRStep,
    "QualityCheck": QualityCheckStep,
    "ClarifyCheck": ClarifyCheckStep,
    "Lineage": LineageStep,
    "Endpoint": EndpointStep,
    "EndpointConfig": EndpointConfigStep,
    "ForEach": ForEachStep,
    "InferenceComponent": InferenceComponentStep,
    "Job": JobStep,
    "Cleanup": CleanupStep,
    "EMRServerless": EMRServerlessStep,
}


def _step_tag(value: Any) -> str:
    step_type = value.get("Type") if isinstance(value, dict) else getattr(value, "type", None)
    return step_type if isinstance(step_type, str) and step_type in KNOWN_STEP_TYPES else "Generic"


Step = Annotated[
    Annotated[TrainingStep, Tag("Training")]
    | Annotated[ProcessingStep, Tag("Processing")]
    | Annotated[TransformStep, Tag("Transform")]
    | Annotated[TuningStep, Tag("Tuning")]
    | Annotated[AutoMLStep, Tag("AutoML")]
    | Annotated[ModelStep, Tag("Model")]
    | Annotated[RegisterModelStep, Tag("RegisterModel")]
    | Annotated[ConditionStep, Tag("Condition")]
    | Annotated[FailStep, Tag("Fail")]
    | Annotated[LambdaStep, Tag("Lambda")]
    | Annotated[CallbackStep, Tag("Callback")]
    | Annotated[EMRStep, Tag("EMR")]
    | Annotated[QualityCheckStep, Tag("QualityCheck")]
    | Annotated[ClarifyCheckStep, Tag("ClarifyCheck")]
    | Annotated[LineageStep, Tag("Lineage")]
    | Annotated[EndpointStep, Tag("Endpoint")]
    | Annotated[EndpointConfigStep, Tag("EndpointConfig")]
    | Annotated[ForEachStep, Tag("ForEach")]
    | Annotated[InferenceComponentStep, Tag("InferenceComponent")]
    | Annotated[JobStep, Tag("Job")]
    | Annotated[CleanupStep, Tag("Cleanup")]
    | Annotated[EMRServerlessStep, Tag("EMRServerless")]
    | Annotated[GenericStep, Tag("Generic")],
    Discriminator(_step_tag),
]


class PipelineDefinition(_Model):
    version: str = Field(alias="Version")
    metadata: dict[str, Any] | None = Field(default=None, alias="Metadata")
    parameters: list[Parameter] = Field(default_factory=list, alias="Parameters")
    pipeline_experiment_config: dict[str, JsonValue] | None = Field(
        default=None, alias="PipelineExperimentConfig"
    )
    mlflow_config: dict[str, JsonValue] | None = Field(default=None, alias="MlflowConfig")
    steps: list[Step] = Field(alias="Steps")

    def all_steps(self) -> Iterator[Step]:
        """Every step, depth-first, including those nested in condition branches."""
        stack: list[Step] = list(reversed(self.steps))
        while stack:
            step = stack.pop()
            yield step
            stack.extend(reversed(step.children()))

    def step_map(self) -> dict[str, Step]:
        """Steps by name across all nesting levels (names are unique once validated)."""
        return {step.name: step for step in self.all_steps()}

    def parameter_map(self) -> dict[str, Parameter]:
        return {p.name: p for p in self.parameters}

    @property
    def experiments_enabled(self) -> bool:
        """False only when PipelineExperimentConfig is explicitly null."""
        return not (
            "pipeline_experiment_config" in self.model_fields_set and self.pipeline_experiment_config is None
        )


TOP_LEVEL_FIELDS = frozenset(
    {"Version", "Metadata", "Parameters", "PipelineExperimentConfig", "Steps", "MlflowConfig"}
)
"""The keys of a definition's top level that the service knows (PipelineDefinition's aliases)."""

ConditionArguments.model_rebuild()
ForEachArguments.model_rebuild()
ForEachStep.model_rebuild()
ConditionStep.model_rebuild()
PipelineDefinition.model_rebuild()
