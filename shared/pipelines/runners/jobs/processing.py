"""Processing steps: a CreateProcessingJob request run as a local process.

Inputs are copied to their ``LocalPath``; ``AppSpecification.ContainerEntrypoint`` +
``ContainerArguments`` run with ``/opt/ml/processing/...`` private to the job; afterwards each
output's ``LocalPath`` is uploaded to its ``S3Uri``. ``Continuous`` uploads happen at the end of
the job (noted in the log). ``/opt/ml/config/processingjobconfig.json`` and
``resourceconfig.json`` are written as the service writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.runners.base import RunContext, StepRequest, StepResult
from pipelines.runners.jobs import describe
from pipelines.runners.jobs.channels import ensure_dirs, fetch_input, upload_folder, write_json
from pipelines.runners.jobs.container import (
    JobLabel,
    JobWorkspace,
    as_list,
    as_mapping,
    job_interpreter,
    max_runtime_of,
    note_single_host,
    request_environment,
    resource_config,
    run_job_process,
)
from pipelines.runners.jobs.images import built_in_algorithm, entrypoint_command


def _literal_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class ProcessingRunner:
    step_type: ClassVar[str] = "Processing"

    def check(self, step: Step, config: Config) -> str | None:
        arguments = step.arguments if isinstance(step.arguments, Mapping) else {}
        app = arguments.get("AppSpecification")
        if not isinstance(app, Mapping):
            return f"step {step.name}: a Processing step needs AppSpecification"
        image = _literal_str(app.get("ImageUri"))
        if (
            app.get("ContainerEntrypoint") is None
            and image is not None
            and config.image_command(image) is None
        ):
            algorithm = built_in_algorithm(image)
            what = f"the built-in algorithm image {algorithm!r}" if algorithm else f"image {image}"
            return (
                f"step {step.name}: {what} has no AppSpecification.ContainerEntrypoint, so only the image's "
                f"own entrypoint could run it; map the image to a local command in the config's [images] table"
            )
        for number, item in enumerate(arguments.get("ProcessingInputs") or []):
            if isinstance(item, Mapping) and item.get("DatasetDefinition") is not None:
                return f"step {step.name}: ProcessingInputs[{number}] reads a DatasetDefinition (Athena/Redshift), which cannot run locally"
        for number, item in enumerate(((arguments.get("ProcessingOutputConfig") or {}).get("Outputs")) or []):
            if isinstance(item, Mapping) and item.get("FeatureStoreOutput") is not None:
                return f"step {step.name}: ProcessingOutputConfig.Outputs[{number}] writes to Feature Store, which cannot run locally"
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        config = ctx.config
        arguments = as_mapping(request.arguments, what=f"step {request.step_name}: Arguments")
        label = JobLabel.for_job(request, config, "ProcessingJob")
        times = describe.JobTimes()
        app = as_mapping(arguments.get("AppSpecification"), what=label.reason("AppSpecification"))
        image = _literal_str(app.get("ImageUri"))
        interpreter = job_interpreter(config, image, label, ctx)

        workspace = JobWorkspace.create(config, request.job_name)
        try:
            self._stage_inputs(arguments, workspace, label, ctx)
            outputs = self._output_specs(arguments, workspace, label, ctx)
            ensure_dirs(path for path, _uri in outputs)
            self._write_config(arguments, request, workspace, label, ctx)
            entrypoint = as_list(app.get("ContainerEntrypoint"), what=label.reason("ContainerEntrypoint"))
            container_args = as_list(app.get("ContainerArguments"), what=label.reason("ContainerArguments"))
            if not entrypoint:
                if not interpreter.mapped:
                    raise label.request_error(
                        f"image {image} has no AppSpecification.ContainerEntrypoint; map it to a local "
                        f"command in the config's [images] table"
                    )
                argv = [*interpreter.argv, *map(str, container_args)]
            else:
                argv = entrypoint_command(interpreter, entrypoint, container_args)
            env = request_environment(config, arguments, interpreter, ctx)
            workspace.scratch.mkdir(parents=True, exist_ok=True)
            times.start()
            run_job_process(
                workspace,
                label,
                argv,
                env,
                ctx,
                cwd="/opt/ml/.workdir",
                max_runtime=max_runtime_of(arguments),
                isolate_network=as_mapping(arguments.get("NetworkConfig"), what="NetworkConfig").get(
                    "EnableNetworkIsolation"
                )
                is True,
                image_uri=image,
            )
            for folder, uri in outputs:
                uploaded = upload_folder(ctx.objects, folder, uri)
                ctx.log(label.note(f"uploaded {len(uploaded)} file(s) from {folder.name} to {uri}"))
            times.end()
        finally:
            workspace.discard()
        properties = describe.job_description(
            config, "ProcessingJob", request, arguments, times, status="Completed"
        )
        return StepResult(properties=properties, metadata=dict(label.metadata))

    def _stage_inputs(
        self, arguments: Mapping[str, Any], workspace: JobWorkspace, label: JobLabel, ctx: RunContext
    ) -> None:
        for number, item in enumerate(as_list(arguments.get("ProcessingInputs"), what="ProcessingInputs")):
            item = as_mapping(item, what=f"ProcessingInputs[{number}]")
            name = item.get("InputName", f"input-{number}")
            what = label.reason(f"input {name!r}")
            if item.get("DatasetDefinition") is not None:
                raise label.request_error(
                    f"input {name!r} reads a DatasetDefinition, which cannot run locally"
                )
            s3 = as_mapping(item.get("S3Input"), what=what)
            if not s3:
                raise label.request_error(f"input {name!r} has neither S3Input nor DatasetDefinition")
            destination = workspace.host_path(str(s3.get("LocalPath", "")), what=what)
            destination.mkdir(parents=True, exist_ok=True)
            if item.get("AppManaged") is True:
                ctx.log(f"input {name!r}: AppManaged is true, so the job reads it itself; nothing copied")
                continue
            mode = s3.get("S3InputMode", "File")
            if mode != "File":
                raise label.request_error(
                    f"input {name!r} uses S3InputMode {mode}, which is not supported locally (named pipes); use File"
                )
            if s3.get("S3CompressionType", "None") != "None":
                raise label.request_error(
                    f"input {name!r}: S3CompressionType Gzip is only valid with Pipe mode"
                )
            fetched = fetch_input(
                ctx.objects,
                str(s3.get("S3Uri")),
                str(s3.get("S3DataType", "S3Prefix")),
                destination,
                what=what,
            )
            ctx.log(
                f"input {name!r}: {len(fetched)} object(s) from {s3.get('S3Uri')} -> {s3.get('LocalPath')}"
            )

    def _output_specs(
        self, arguments: Mapping[str, Any], workspace: JobWorkspace, label: JobLabel, ctx: RunContext
    ) -> list[tuple[Any, str]]:
        config = as_mapping(arguments.get("ProcessingOutputConfig"), what="ProcessingOutputConfig")
        specs = []
        for number, item in enumerate(as_list(config.get("Outputs"), what="Outputs")):
            item = as_mapping(item, what=f"Outputs[{number}]")
            name = item.get("OutputName", f"output-{number}")
            what = label.reason(f"output {name!r}")
            if item.get("FeatureStoreOutput") is not None:
                raise label.request_error(
                    f"output {name!r} writes to Feature Store, which cannot run locally"
                )
            s3 = as_mapping(item.get("S3Output"), what=what)
            if not s3:
                raise label.request_error(f"output {name!r} has no S3Output")
            if s3.get("S3UploadMode") == "Continuous":
                ctx.log(f"output {name!r}: S3UploadMode Continuous is uploaded at the end of the job locally")
            if item.get("AppManaged") is True:
                ctx.log(
                    f"output {name!r}: AppManaged is true, so the job uploads it itself; nothing uploaded"
                )
                continue
            specs.append((workspace.host_path(str(s3.get("LocalPath", "")), what=what), str(s3.get("S3Uri"))))
        return specs

    def _write_config(
        self,
        arguments: Mapping[str, Any],
        request: StepRequest,
        workspace: JobWorkspace,
        label: JobLabel,
        ctx: RunContext,
    ) -> None:
        resources = as_mapping(arguments.get("ProcessingResources"), what="ProcessingResources")
        cluster = as_mapping(resources.get("ClusterConfig"), what="ClusterConfig")
        instance_type = str(cluster.get("InstanceType", "local"))
        note_single_host(cluster.get("InstanceCount", 1), label, ctx)
        write_json(
            workspace.ml / "config" / "processingjobconfig.json",
            {**arguments, "ProcessingJobName": request.job_name},
        )
        write_json(workspace.ml / "config" / "resourceconfig.json", resource_config(instance_type))
