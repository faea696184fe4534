"""Transform steps: a CreateTransformJob request run as a local batch job.

The model comes from the local model registry (the Model step recorded its CreateModel
request under ``ModelName``): ``PrimaryContainer.ModelDataUrl`` is unpacked into
``/opt/ml/model`` and the inference script named by ``SAGEMAKER_PROGRAM`` (from
``SAGEMAKER_SUBMIT_DIRECTORY``, or the model's own ``code/`` folder) serves every request.
``_transform_worker.py`` runs inside the job with the model image's interpreter and applies
SplitType, BatchStrategy, MaxPayloadInMB and AssembleWith; each input object
``<prefix>/<name>`` becomes ``<S3OutputPath>/<name>.out``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.errors import PipelinesError
from pipelines.runners.base import RunContext, StepRequest, StepResult
from pipelines.runners.jobs import describe
from pipelines.runners.jobs.channels import fetch_input, join_uri, upload_file, write_json
from pipelines.runners.jobs.container import (
    JobLabel,
    JobWorkspace,
    as_mapping,
    job_environment,
    job_interpreter,
    run_job_process,
)
from pipelines.runners.jobs.images import serving_framework
from pipelines.runners.jobs.model_data import MODEL_DIR, stage_inference_code, stage_model_data

WORKER = Path(__file__).with_name("_transform_worker.py")
SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
ASSEMBLE_WITH = ("None", "Line")
DEFAULT_MAX_PAYLOAD_MB = 6
TRANSFORM_ROOT = "/opt/ml/transform"

ModelLookup = Callable[[str], Mapping[str, Any]]


def registry_lookup(config: Config) -> ModelLookup:
    """Models recorded by Model steps in the embedded runtime's registry."""
    from pipelines.registry import ModelRegistry

    return ModelRegistry.from_config(config).describe_model


def _unsupported_data_processing(arguments: Mapping[str, Any]) -> str | None:
    """What of the request the local batch agent does not do (filtering, joining, capture)."""
    if arguments.get("DataCaptureConfig"):
        return "DataCaptureConfig (capturing the transform's inputs and outputs)"
    data_processing = arguments.get("DataProcessing")
    if not isinstance(data_processing, Mapping):
        return None
    for key in ("InputFilter", "OutputFilter"):
        value = data_processing.get(key)
        if value not in (None, "$"):
            return f"DataProcessing.{key} {value!r}"
    if data_processing.get("JoinSource") not in (None, "None"):
        return f"DataProcessing.JoinSource {data_processing.get('JoinSource')!r}"
    return None


class TransformRunner:
    step_type: ClassVar[str] = "Transform"

    def __init__(self, models: Callable[[Config], ModelLookup] = registry_lookup) -> None:
        self.models = models

    def check(self, step: Step, config: Config) -> str | None:
        arguments = step.arguments if isinstance(step.arguments, Mapping) else {}
        unsupported = _unsupported_data_processing(arguments)
        if unsupported:
            return f"step {step.name}: {unsupported} is not supported locally"
        source = ((arguments.get("TransformInput") or {}).get("DataSource") or {}).get("S3DataSource") or {}
        if isinstance(source, Mapping) and source.get("S3DataType") == "AugmentedManifestFile":
            return f"step {step.name}: AugmentedManifestFile transform input is not supported locally"
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        config = ctx.config
        arguments = as_mapping(request.arguments, what=f"step {request.step_name}: Arguments")
        label = JobLabel.for_job(request, config, "TransformJob")
        unsupported = _unsupported_data_processing(arguments)
        if unsupported:
            raise label.request_error(f"{unsupported} is not supported locally")
        model, container = self._model_container(arguments, label, config)
        image = container.get("Image") if isinstance(container.get("Image"), str) else None
        interpreter = job_interpreter(config, image, label, ctx)
        times = describe.JobTimes()
        workspace = JobWorkspace.create(config, request.job_name)
        try:
            stage_model_data(container, workspace, ctx.objects, label)
            program, code_dir = stage_inference_code(container, workspace, ctx.objects, label, required=True)
            assert program is not None
            inputs = self._stage_inputs(arguments, workspace, label, ctx)
            spec = self._worker_spec(
                arguments, inputs, program, code_dir, container.get("Environment"), label, ctx
            )
            spec["framework"] = serving_framework(image)
            spec_path = workspace.ml / "transform" / "spec.json"
            write_json(spec_path, spec)
            env = job_environment(
                config, as_mapping(container.get("Environment"), what="model Environment"), ctx.environment
            )
            env.update(
                {
                    str(k): str(v)
                    for k, v in as_mapping(arguments.get("Environment"), what="Environment").items()
                }
            )
            env.update(
                SAGEMAKER_BATCH="true",
                SAGEMAKER_MAX_PAYLOAD_IN_MB=str(spec["max_payload"] // (1024 * 1024)),
                SAGEMAKER_BATCH_STRATEGY=spec["batch_strategy"],
                SAGEMAKER_MAX_CONCURRENT_TRANSFORMS=str(arguments.get("MaxConcurrentTransforms", 1)),
            )
            env = interpreter.path_env(env)
            times.start()
            run_job_process(
                workspace,
                label,
                [*interpreter.argv, str(WORKER), f"{TRANSFORM_ROOT}/spec.json"],
                env,
                ctx,
                cwd=code_dir,
                max_runtime=None,
                isolate_network=model.get("EnableNetworkIsolation") is True,
            )
            output_path = str(
                as_mapping(arguments.get("TransformOutput"), what="TransformOutput").get("S3OutputPath")
            )
            for relative, _path in inputs:
                uri = join_uri(output_path, f"{relative}.out")
                upload_file(ctx.objects, workspace.ml / "transform" / "output" / f"{relative}.out", uri)
            ctx.log(label.note(f"wrote {len(inputs)} output object(s) under {output_path}"))
            times.end()
        finally:
            workspace.discard()
        properties = describe.job_description(
            config, "TransformJob", request, arguments, times, status="Completed"
        )
        return StepResult(properties=properties, metadata=dict(label.metadata))

    # -- the model ---------------------------------------------------------------------------------

    def _model_container(
        self, arguments: Mapping[str, Any], label: JobLabel, config: Config
    ) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        """The CreateModel request recorded under ModelName, and its one container."""
        name = arguments.get("ModelName")
        if not isinstance(name, str) or not name:
            raise label.request_error("the request has no ModelName")
        try:
            model = self.models(config)(name)
        except (PipelinesError, KeyError, LookupError) as exc:
            raise label.request_error(
                f"model {name!r} cannot be found in the local model registry: {exc}"
            ) from exc
        containers = model.get("Containers") or []
        if len(containers) > 1:
            raise label.request_error(
                f"model {name!r} is an inference pipeline of {len(containers)} containers, which cannot run locally"
            )
        container = model.get("PrimaryContainer") or (containers[0] if containers else None)
        if not isinstance(container, Mapping):
            raise label.request_error(f"model {name!r} has no PrimaryContainer")
        return model, container

    # -- the data ----------------------------------------------------------------------------------

    def _stage_inputs(
        self, arguments: Mapping[str, Any], workspace: JobWorkspace, label: JobLabel, ctx: RunContext
    ) -> list[tuple[str, Path]]:
        transform_input = as_mapping(arguments.get("TransformInput"), what="TransformInput")
        source = as_mapping(
            as_mapping(transform_input.get("DataSource"), what="DataSource").get("S3DataSource"),
            what="S3DataSource",
        )
        if not source:
            raise label.request_error("TransformInput.DataSource has no S3DataSource")
        uri = str(source.get("S3Uri"))
        fetched = fetch_input(
            ctx.objects,
            uri,
            str(source.get("S3DataType", "S3Prefix")),
            workspace.ml / "transform" / "input",
            what=label.reason("TransformInput"),
            gunzip=transform_input.get("CompressionType") == "Gzip",
        )
        ctx.log(label.note(f"{len(fetched)} input object(s) from {uri}"))
        return [(f.relative, f.path) for f in fetched]

    def _worker_spec(
        self,
        arguments: Mapping[str, Any],
        inputs: list[tuple[str, Path]],
        program: str,
        code_dir: str,
        container_env: Any,
        label: JobLabel,
        ctx: RunContext,
    ) -> dict[str, Any]:
        transform_input = as_mapping(arguments.get("TransformInput"), what="TransformInput")
        transform_output = as_mapping(arguments.get("TransformOutput"), what="TransformOutput")
        split_type = str(transform_input.get("SplitType", "None"))
        if split_type not in SPLIT_TYPES:
            raise label.request_error(f"SplitType {split_type!r} is not one of {', '.join(SPLIT_TYPES)}")
        strategy = arguments.get("BatchStrategy")
        if strategy is None:
            strategy = "MultiRecord"
            ctx.log(label.note("BatchStrategy not set: using MultiRecord"))
        if strategy not in BATCH_STRATEGIES:
            raise label.request_error(
                f"BatchStrategy {strategy!r} is not one of {', '.join(BATCH_STRATEGIES)}"
            )
        assemble_with = str(transform_output.get("AssembleWith", "None"))
        if assemble_with not in ASSEMBLE_WITH:
            raise label.request_error(
                f"AssembleWith {assemble_with!r} is not one of {', '.join(ASSEMBLE_WITH)}"
            )
        max_payload_mb = arguments.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)
        content_type = str(transform_input.get("ContentType") or "application/json")
        # no Accept header: the serving toolkit answers in its default accept type
        model_env = as_mapping(container_env, what="model Environment")
        accept = str(
            transform_output.get("Accept")
            or model_env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT")
            or "application/json"
        )
        return {
            "program": program,
            "code_dir": code_dir,
            "model_dir": MODEL_DIR,
            "split_type": split_type,
            "batch_strategy": strategy,
            "max_payload": int(max_payload_mb) * 1024 * 1024,
            "assemble_with": assemble_with,
            "content_type": content_type,
            "accept": accept,
            "inputs": [
                {
                    "name": relative,
                    "path": f"{TRANSFORM_ROOT}/input/{relative}",
                    "output": f"{TRANSFORM_ROOT}/output/{relative}.out",
                }
                for relative, _path in inputs
            ],
        }
