"""Training steps: a CreateTrainingJob request run as a local process.

The job sees the training container contract: channels in ``/opt/ml/input/data/<channel>``,
``/opt/ml/input/config/{hyperparameters,resourceconfig,inputdataconfig}.json``, the ``SM_*``
variables the framework containers set, and ``/opt/ml/model`` packed into
``<S3OutputPath>/<job>/output/model.tar.gz`` afterwards. What runs is, in order:

* the SageMaker remote-function driver (``@step`` functions, see function_step.py);
* ``amazon_sagemaker_scheduler`` (NotebookJob steps, see notebook.py);
* ``AlgorithmSpecification.ContainerEntrypoint`` + ``ContainerArguments``;
* framework script mode: ``sagemaker_program`` from ``sagemaker_submit_directory`` (a tar.gz
  unpacked into ``/opt/ml/code``), with the hyperparameters as ``--name value`` arguments;
* the image's own program, when the config maps the image to a local command (``<cmd> train``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.objects.base import split_uri
from pipelines.runners.base import RunContext, StepRequest, StepResult
from pipelines.runners.jobs import describe
from pipelines.runners.jobs.channels import (
    fetch_and_extract,
    fetch_input,
    join_uri,
    tar_gz_folder,
    upload_folder,
    write_json,
)
from pipelines.runners.jobs.container import (
    GROUP,
    HOST,
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
from pipelines.runners.jobs.function_step import FunctionStepProgram
from pipelines.runners.jobs.images import (
    built_in_algorithm,
    entrypoint_command,
)
from pipelines.runners.jobs.metrics import MetricCollector
from pipelines.runners.jobs.notebook import NotebookProgram
from pipelines.runners.jobs.training_job import TrainingJob, TrainingProgram

CODE_DIR = "/opt/ml/code"
INPUT_DATA = "/opt/ml/input/data"
DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"
FRAMEWORK_HYPERPARAMETERS = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_container_log_level",
    "sagemaker_region",
    "sagemaker_job_name",
    "sagemaker_estimator_class_name",
    "sagemaker_estimator_module",
)


def decode_hyperparameter(value: Any) -> Any:
    """The SDK JSON-encodes hyperparameter values (``"\\"train.py\\""``); the containers decode
    them, falling back to the raw string."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _arg_value(value: Any) -> str:
    """As the training toolkit's ``to_cmd_args``: maps become ``k=v,k=v``, the rest ``str()``."""
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return "" if value is None else str(value)


def _env_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def special_programs() -> list[TrainingProgram]:
    return [FunctionStepProgram(), NotebookProgram()]


class TrainingRunner:
    step_type: ClassVar[str] = "Training"

    def __init__(self, programs: list[TrainingProgram] | None = None) -> None:
        self.programs = programs if programs is not None else special_programs()

    def check(self, step: Step, config: Config) -> str | None:
        arguments = step.arguments if isinstance(step.arguments, Mapping) else {}
        return check_training_request(step.name, arguments, config, self.programs, step)

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        properties = self.run_job(request, ctx)
        return StepResult(
            properties=properties, metadata=describe.metadata("TrainingJob", properties["TrainingJobArn"])
        )

    def run_job(
        self, request: StepRequest, ctx: RunContext, *, tuning_job_arn: str | None = None
    ) -> dict[str, Any]:
        """Run the job; its DescribeTrainingJob response (Tuning reuses this for each trial)."""
        config = ctx.config
        arguments = as_mapping(request.arguments, what=f"step {request.step_name}: Arguments")
        label = JobLabel.for_job(request, config, "TrainingJob")
        algorithm = as_mapping(
            arguments.get("AlgorithmSpecification"), what=label.reason("AlgorithmSpecification")
        )
        image = algorithm.get("TrainingImage") if isinstance(algorithm.get("TrainingImage"), str) else None
        interpreter = job_interpreter(config, image, label, ctx)
        metrics = MetricCollector(algorithm.get("MetricDefinitions"), what=label.reason("MetricDefinitions"))
        times = describe.JobTimes()
        workspace = JobWorkspace.create(config, request.job_name)
        env = request_environment(config, arguments, interpreter, ctx)
        job = TrainingJob(request, ctx, label, workspace, arguments, interpreter, image, env)
        try:
            self._stage(job)
            argv, cwd, program = self._command(job)
            times.start()
            try:
                run_job_process(
                    workspace,
                    label,
                    argv,
                    job.env,
                    ctx,
                    cwd=cwd,
                    max_runtime=max_runtime_of(arguments),
                    on_line=metrics.feed,
                    isolate_network=arguments.get("EnableNetworkIsolation") is True,
                    image_uri=job.image,
                )
            finally:
                self._after_process(job, program)
            model_uri = self._upload_outputs(job)
            times.end()
        finally:
            workspace.discard()
        return describe.job_description(
            config,
            "TrainingJob",
            request,
            arguments,
            times,
            status="Completed",
            **describe.training_fields(
                times,
                secondary_status="Completed",
                model_artifacts=model_uri,
                final_metrics=metrics.final_metric_data_list()
                if algorithm.get("MetricDefinitions")
                else None,
                tuning_job_arn=tuning_job_arn,
                hyperparameters=arguments.get("HyperParameters"),
            ),
        )

    # -- staging -------------------------------------------------------------------------------

    def _stage(self, job: TrainingJob) -> None:
        ml, arguments, label = job.workspace.ml, job.arguments, job.label
        for folder in ("model", "output/data", "output/intermediate", "input/config", "input/data", "code"):
            (ml / folder).mkdir(parents=True, exist_ok=True)
        resources = as_mapping(arguments.get("ResourceConfig"), what=label.reason("ResourceConfig"))
        note_single_host(resources.get("InstanceCount", 1), label, job.ctx)
        default_mode = job.algorithm.get("TrainingInputMode", "File")
        input_config: dict[str, dict[str, Any]] = {}
        for number, channel in enumerate(as_list(arguments.get("InputDataConfig"), what="InputDataConfig")):
            channel = as_mapping(channel, what=f"InputDataConfig[{number}]")
            name = str(channel.get("ChannelName", f"channel{number}"))
            what = label.reason(f"channel {name!r}")
            source = as_mapping(channel.get("DataSource"), what=what)
            s3 = as_mapping(source.get("S3DataSource"), what=what)
            if not s3:
                kind = next(iter(source), "nothing")
                raise label.request_error(
                    f"channel {name!r} reads from {kind}, which cannot run locally (only S3DataSource)"
                )
            mode = channel.get("InputMode", default_mode)
            if channel.get("CompressionType", "None") != "None" and mode != "Pipe":
                raise label.request_error(
                    f"channel {name!r}: CompressionType is only valid with Pipe input mode"
                )
            if mode == "Pipe":
                raise label.request_error(
                    f"channel {name!r} uses Pipe input mode, which is not supported locally; use File or FastFile"
                )
            if mode == "FastFile":
                job.ctx.log(f"channel {name!r}: FastFile input mode runs as File locally")
            data_type = str(s3.get("S3DataType", "S3Prefix"))
            if data_type == "AugmentedManifestFile":
                raise label.request_error(
                    f"channel {name!r}: AugmentedManifestFile input is not supported locally"
                )
            uri = str(s3.get("S3Uri"))
            fetched = fetch_input(job.ctx.objects, uri, data_type, ml / "input" / "data" / name, what=what)
            job.ctx.log(f"channel {name!r}: {len(fetched)} object(s) from {uri}")
            job.channels[name] = uri
            entry: dict[str, Any] = {
                "TrainingInputMode": mode,
                "S3DistributionType": s3.get("S3DataDistributionType", "FullyReplicated"),
                "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            }
            if channel.get("ContentType"):
                entry["ContentType"] = channel["ContentType"]
            input_config[name] = entry
        self._stage_checkpoints(job)
        write_json(ml / "input" / "config" / "hyperparameters.json", job.hyperparameters)
        write_json(ml / "input" / "config" / "inputdataconfig.json", input_config)
        write_json(
            ml / "input" / "config" / "resourceconfig.json",
            resource_config(str(resources.get("InstanceType", "local"))),
        )
        write_json(
            ml / "input" / "config" / "trainingjobconfig.json",
            {**arguments, "TrainingJobName": job.request.job_name},
        )

    def _stage_checkpoints(self, job: TrainingJob) -> None:
        checkpoint = as_mapping(job.arguments.get("CheckpointConfig"), what="CheckpointConfig")
        if not checkpoint.get("S3Uri"):
            return
        local = job.workspace.host_path(
            str(checkpoint.get("LocalPath", DEFAULT_CHECKPOINT_PATH)), what="CheckpointConfig"
        )
        local.mkdir(parents=True, exist_ok=True)
        uri = str(checkpoint["S3Uri"])
        if job.ctx.objects.list(uri):
            fetch_input(job.ctx.objects, uri, "S3Prefix", local, what=job.label.reason("checkpoints"))
            job.ctx.log(job.label.note(f"restored checkpoints from {uri}"))

    # -- the command ---------------------------------------------------------------------------

    def _command(self, job: TrainingJob) -> tuple[list[str], str, TrainingProgram | None]:
        entrypoint = as_list(
            job.algorithm.get("ContainerEntrypoint"), what=job.label.reason("ContainerEntrypoint")
        )
        arguments = as_list(
            job.algorithm.get("ContainerArguments"), what=job.label.reason("ContainerArguments")
        )
        self._set_sm_environment(job)
        for program in self.programs:
            if program.matches(entrypoint):
                argv, cwd = program.prepare(job)
                return argv, cwd, program
        if entrypoint:
            return entrypoint_command(job.interpreter, entrypoint, arguments), "/opt/ml/code", None
        hyperparameters = job.hyperparameters
        if "sagemaker_program" in hyperparameters:
            return self._script_mode(job, hyperparameters), CODE_DIR, None
        if job.interpreter.mapped:
            return [*job.interpreter.argv, "train"], "/opt/ml/code", None
        raise job.label.request_error(_unrunnable(job.image))

    def _script_mode(self, job: TrainingJob, hyperparameters: Mapping[str, Any]) -> list[str]:
        program = str(decode_hyperparameter(hyperparameters["sagemaker_program"]))
        submit = decode_hyperparameter(hyperparameters.get("sagemaker_submit_directory"))
        code = job.workspace.host_path(CODE_DIR, what="code")
        if submit:
            _stage_submit_directory(job, str(submit), code)
        script = code / program
        if not script.is_file():
            where = f"the submit directory {submit}" if submit else "no sagemaker_submit_directory"
            raise job.label.request_error(f"entry point {program} not found in {where}")
        user_args = _user_args(hyperparameters)
        if program.endswith(".py"):
            run = [*job.interpreter.argv, program, *user_args]
        else:
            script.chmod(0o755)
            run = [f"{CODE_DIR}/{program}", *user_args]
        if not (code / "requirements.txt").is_file():
            return run
        if not job.ctx.config.install_requirements:
            job.ctx.log(
                job.label.note(
                    "requirements.txt in the submit directory is not installed "
                    "(set install_requirements = true in the config to install it)"
                )
            )
            return run
        install = [*job.interpreter.argv, "-m", "pip", "install", "-r", "requirements.txt"]
        return ["/bin/sh", "-c", f"{shlex.join(install)} && exec {shlex.join(run)}"]

    def _set_sm_environment(self, job: TrainingJob) -> None:
        hyperparameters = job.hyperparameters
        decoded = _user_hyperparameters(hyperparameters)
        resources = as_mapping(job.arguments.get("ResourceConfig"), what="ResourceConfig")
        host_config = resource_config(str(resources.get("InstanceType", "local")))
        input_data_config = json.loads(
            (job.workspace.ml / "input" / "config" / "inputdataconfig.json").read_text()
        )
        channels = sorted(input_data_config)
        program = decode_hyperparameter(hyperparameters.get("sagemaker_program", ""))
        module_dir = decode_hyperparameter(hyperparameters.get("sagemaker_submit_directory", ""))
        sm: dict[str, Any] = {
            "model_dir": "/opt/ml/model",
            "input_dir": "/opt/ml/input",
            "input_config_dir": "/opt/ml/input/config",
            "output_dir": "/opt/ml/output",
            "output_data_dir": "/opt/ml/output/data",
            "output_intermediate_dir": "/opt/ml/output/intermediate",
            "channels": channels,
            "channel_input_dirs": {c: f"{INPUT_DATA}/{c}" for c in channels},
            "hps": decoded,
            "hyperparameters": decoded,
            "current_host": HOST,
            "current_instance_type": host_config["current_instance_type"],
            "current_instance_group": GROUP,
            "current_instance_group_hosts": [HOST],
            "instance_groups": [GROUP],
            "instance_groups_dict": {
                GROUP: {
                    "instance_group_name": GROUP,
                    "instance_type": host_config["current_instance_type"],
                    "hosts": [HOST],
                }
            },
            "distribution_instance_groups": [],
            "is_hetero": False,
            "hosts": [HOST],
            "master_hostname": HOST,
            "is_master": True,
            "network_interface_name": "eth0",
            "num_cpus": os.cpu_count() or 1,
            "num_gpus": 0,
            "num_neurons": 0,
            "log_level": 20,
            "user_entry_point": program,
            "module_name": str(program).removesuffix(".py"),
            "module_dir": module_dir,
            "framework_module": "",
            "additional_framework_parameters": {},
            "resource_config": host_config,
            "input_data_config": input_data_config,
            "job_name": job.request.job_name,
            "user_args": _user_args(hyperparameters),
        }
        env = job.env
        for key, value in sm.items():
            if key in ("channel_input_dirs", "hyperparameters", "is_master", "master_hostname", "job_name"):
                continue
            env[f"SM_{key.upper()}"] = _env_value(value)
        for channel in channels:
            env[f"SM_CHANNEL_{channel.upper()}"] = f"{INPUT_DATA}/{channel}"
        for name, value in decoded.items():
            env[f"SM_HP_{name.upper()}"] = _env_value(value)
        env["SM_TRAINING_ENV"] = json.dumps(sm, sort_keys=True)
        env["TRAINING_JOB_NAME"] = job.request.job_name
        env["TRAINING_JOB_ARN"] = describe.job_arn(job.ctx.config, "TrainingJob", job.request.job_name)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (CODE_DIR, env.get("PYTHONPATH", "")) if p)

    # -- after the process ------------------------------------------------------------------------

    def _after_process(self, job: TrainingJob, program: TrainingProgram | None) -> None:
        checkpoint = as_mapping(job.arguments.get("CheckpointConfig"), what="CheckpointConfig")
        if checkpoint.get("S3Uri"):
            local = job.workspace.host_path(
                str(checkpoint.get("LocalPath", DEFAULT_CHECKPOINT_PATH)), what="checkpoints"
            )
            upload_folder(job.ctx.objects, local, str(checkpoint["S3Uri"]))
        if program is not None:
            program.finish(job)

    def _upload_outputs(self, job: TrainingJob) -> str | None:
        output = as_mapping(job.arguments.get("OutputDataConfig"), what="OutputDataConfig")
        path = output.get("S3OutputPath")
        if not path:
            return None
        prefix = join_uri(str(path), job.request.job_name, "output")
        ml, objects = job.workspace.ml, job.ctx.objects
        if str(output.get("CompressionType", "GZIP")).upper() == "NONE":
            model_uri = join_uri(prefix, "model") + "/"
            upload_folder(objects, ml / "model", model_uri)
        else:
            model_uri = join_uri(prefix, "model.tar.gz")
            objects.put(model_uri, tar_gz_folder(ml / "model"))
        objects.put(join_uri(prefix, "output.tar.gz"), tar_gz_folder(ml / "output" / "data"))
        job.ctx.log(job.label.note(f"model artifacts: {model_uri}"))
        for config_name, default_local in (
            ("TensorBoardOutputConfig", "/opt/ml/output/tensorboard"),
            ("DebugHookConfig", "/opt/ml/output/tensors"),
        ):
            extra = as_mapping(job.arguments.get(config_name), what=config_name)
            if extra.get("S3OutputPath"):
                local = job.workspace.host_path(str(extra.get("LocalPath", default_local)), what=config_name)
                upload_folder(objects, local, str(extra["S3OutputPath"]))
        return model_uri


def _stage_submit_directory(job: TrainingJob, submit: str, code: Path) -> None:
    """``sagemaker_submit_directory``: an s3:// or file:// tar.gz, or (SDK local mode) a folder."""
    what = job.label.reason("sagemaker_submit_directory")
    scheme = split_uri(submit)[0] if submit.startswith(("s3://", "file://")) else "path"
    local = Path(split_uri(submit)[2]) if scheme == "file" else Path(submit) if scheme == "path" else None
    if local is not None and local.is_dir():
        shutil.copytree(local, code, dirs_exist_ok=True)
        return
    if scheme == "path":
        assert local is not None
        if not local.is_file():
            raise job.label.request_error(f"sagemaker_submit_directory {submit} does not exist")
        submit = f"file://{local.resolve()}"
    fetch_and_extract(job.ctx.objects, submit, code, what=what)


def _user_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """Hyperparameters as ``--name value`` arguments, as the training toolkit passes them."""
    args: list[str] = []
    for name, value in sorted(_user_hyperparameters(hyperparameters).items()):
        args += [f"--{name}" if len(name) > 1 else f"-{name}", _arg_value(value)]
    return args


def _user_hyperparameters(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: decode_hyperparameter(v) for k, v in hyperparameters.items() if k not in FRAMEWORK_HYPERPARAMETERS
    }


def _unrunnable(image: str | None) -> str:
    algorithm = built_in_algorithm(image or "")
    subject = f"the built-in algorithm image {algorithm!r}" if algorithm else f"image {image}"
    return (
        f"{subject} runs its own training program: the request has no AlgorithmSpecification."
        f"ContainerEntrypoint and no script mode (sagemaker_program hyperparameter), so there is nothing to "
        f"run locally; map the image to a local command in the config's [images] table, or use script mode"
    )


def check_training_request(
    step_name: str,
    arguments: Mapping[str, Any],
    config: Config,
    programs: list[TrainingProgram],
    step: Step | None = None,
) -> str | None:
    """Why a training request cannot run here (None if it can), from the unresolved definition."""
    algorithm = arguments.get("AlgorithmSpecification")
    if not isinstance(algorithm, Mapping):
        return f"step {step_name}: a Training step needs AlgorithmSpecification"
    if algorithm.get("AlgorithmName") is not None and algorithm.get("TrainingImage") is None:
        return f"step {step_name}: AlgorithmSpecification.AlgorithmName (a Marketplace algorithm) cannot run locally"
    for key in ("DebugRuleConfigurations", "ProfilerRuleConfigurations"):
        if arguments.get(key):
            return f"step {step_name}: {key} (Debugger/Profiler rules) cannot be evaluated locally"
    entrypoint = algorithm.get("ContainerEntrypoint")
    if isinstance(entrypoint, list):
        for program in programs:
            if program.matches(entrypoint):
                return program.check(step, config) if step is not None else None
        return None
    # a Training request's HyperParameters, or a tuning TrainingJobDefinition's static ones
    hyperparameters = arguments.get("HyperParameters") or arguments.get("StaticHyperParameters")
    if isinstance(hyperparameters, Mapping) and "sagemaker_program" in hyperparameters:
        return None
    image = algorithm.get("TrainingImage")
    if isinstance(image, str) and config.image_command(image) is None:
        return f"step {step_name}: {_unrunnable(image)}"
    return None
