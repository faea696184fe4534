"""``@step`` function steps: Training jobs whose entrypoint is the SageMaker remote-function driver.

The SDK stores the pickled function and arguments under
``<s3_base_uri>/<step name>/<build time>/{function,arguments}`` and expects the result under
``<s3_base_uri>/<execution id>/<step name>/results`` (plus ``results.json`` as
``{"Result": ..., "Exception": ...}`` when ``--serialize_output_to_json true``). Rather than the
container's ``job_driver.sh`` (which bootstraps a conda/pip environment and talks to S3), the job
runs ``_remote_function_driver.py`` under the image's interpreter: it calls the SDK's own
``invoke_function`` with its S3 reads and writes redirected to files this runner stages from,
and uploads to, the object store. The SDK's own code therefore does the (de)serialisation, the
integrity check and the resolution of ``--property_references``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.objects.base import split_uri
from pipelines.runners.jobs.channels import copy_object, join_uri
from pipelines.runners.jobs.container import as_list
from pipelines.runners.jobs.images import resolve_interpreter
from pipelines.runners.jobs.training_job import TrainingJob

BOOTSTRAP_CHANNEL = "sagemaker_remote_function_bootstrap"
DRIVER_SCRIPT = f"/opt/ml/input/data/{BOOTSTRAP_CHANNEL}/job_driver.sh"
OBJECTS_IN = "/opt/ml/input/remote_function/objects"
OBJECTS_OUT = "/opt/ml/output/remote_function/objects"
DRIVER = Path(__file__).with_name("_remote_function_driver.py")
_PAYLOAD_FILES = ("payload.pkl", "metadata.json")


def _major(version: str) -> str:
    return version.split(".", 1)[0]


@functools.lru_cache(maxsize=16)
def sdk_version(argv: tuple[str, ...]) -> str | None:
    """The ``sagemaker`` distribution version an interpreter has (None: not installed). The
    host's own is read directly; another interpreter is asked once per process."""
    if argv == (sys.executable,):
        try:
            return importlib.metadata.version("sagemaker")
        except importlib.metadata.PackageNotFoundError:
            return None
    probe = "import importlib.metadata as m\ntry: print(m.version('sagemaker'))\nexcept m.PackageNotFoundError: pass"
    try:
        done = subprocess.run([*argv, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def parse_driver_arguments(arguments: list[Any]) -> dict[str, Any]:
    """``--name value`` pairs of the driver's ContainerArguments; ``--property_references`` takes
    every value up to the next ``--option`` (argparse ``nargs="+"``)."""
    parsed: dict[str, Any] = {}
    index = 0
    while index < len(arguments):
        token = str(arguments[index])
        index += 1
        if not token.startswith("--"):
            continue
        name = token[2:]
        if name == "property_references":
            values: list[str] = []
            while index < len(arguments) and not str(arguments[index]).startswith("--"):
                values.append(str(arguments[index]))
                index += 1
            parsed[name] = dict(zip(values[0::2], values[1::2], strict=False))
        elif index < len(arguments):
            parsed[name] = str(arguments[index])
            index += 1
    return parsed


class FunctionStepProgram:
    def matches(self, entrypoint: list[Any]) -> bool:
        return bool(entrypoint) and str(entrypoint[-1]) == DRIVER_SCRIPT

    def check(self, step: Step, config: Config) -> str | None:
        """The function was pickled by one SDK major version and only that version's driver can
        run it: the interpreter the image maps to must have it (``validate --config`` warns)."""
        arguments = step.arguments if isinstance(step.arguments, Mapping) else {}
        algorithm = arguments.get("AlgorithmSpecification") or {}
        image = algorithm.get("TrainingImage") if isinstance(algorithm, Mapping) else None
        interpreter = resolve_interpreter(config, image if isinstance(image, str) else None)
        container_arguments = algorithm.get("ContainerArguments") if isinstance(algorithm, Mapping) else None
        built_with = parse_driver_arguments(list(container_arguments or [])).get(
            "client_sagemaker_pysdk_version"
        )
        installed = sdk_version(interpreter.argv)
        where = f"the interpreter {shlex.join(interpreter.argv)} ({interpreter.source}) for image {image}"
        if installed is None:
            return (
                f"step {step.name}: a @step function runs with the SageMaker Python SDK's remote-function "
                f"driver, but {where} has no 'sagemaker' package"
                + (f" (the pipeline was built with sagemaker {built_with})" if built_with else "")
                + "; install it there or map the image to an interpreter that has it in the config's [images] table"
            )
        if built_with and _major(built_with) != _major(installed):
            return (
                f"step {step.name}: the @step function was built with sagemaker {built_with}, but {where} has "
                f"sagemaker {installed}; a function runs only under the SDK major version that pickled it: "
                f"map the image to an interpreter with sagemaker {_major(built_with)}.x in the config's [images] table"
            )
        return None

    def prepare(self, job: TrainingJob) -> tuple[list[str], str]:
        container_arguments = [
            str(a) for a in as_list(job.algorithm.get("ContainerArguments"), what="ContainerArguments")
        ]
        options = parse_driver_arguments(container_arguments)
        for required in ("s3_base_uri", "pipeline_step_name", "func_step_s3_dir", "pipeline_execution_id"):
            if not options.get(required):
                raise job.label.request_error(f"the @step driver arguments have no --{required}")
        self._stage_objects(job, options)
        job.env.update(
            PIPELINES_RF_OBJECTS_IN=OBJECTS_IN,
            PIPELINES_RF_OBJECTS_OUT=OBJECTS_OUT,
            PIPELINES_RF_INSTALL_REQUIREMENTS="1" if job.ctx.config.install_requirements else "",
        )
        (job.workspace.ml / "output" / "remote_function" / "objects").mkdir(parents=True, exist_ok=True)
        job.workspace.scratch.mkdir(parents=True, exist_ok=True)
        job.ctx.log(job.label.note(f"running the @step function of {options['pipeline_step_name']}"))
        return [*job.interpreter.argv, str(DRIVER), *container_arguments], "/opt/ml/.workdir"

    def _stage_objects(self, job: TrainingJob, options: Mapping[str, Any]) -> None:
        """Copy what the SDK will read: the function, its arguments, and the results of upstream
        @step functions (the S3 URIs among the property references, and this execution's results)."""
        base = str(options["s3_base_uri"])
        func_dir = join_uri(base, str(options["pipeline_step_name"]), str(options["func_step_s3_dir"]))
        wanted = [
            join_uri(func_dir, folder, name)
            for folder in ("function", "arguments")
            for name in _PAYLOAD_FILES
        ]
        missing = [uri for uri in wanted if not job.ctx.objects.exists(uri)]
        if missing:
            raise job.label.request_error(
                f"the serialized @step function is missing from the object store: {', '.join(missing)} "
                f"(the SDK uploads it when the pipeline is created)"
            )
        references = options.get("property_references") or {}
        for value in references.values():
            if value.startswith("s3://"):
                wanted += [join_uri(value, name) for name in _PAYLOAD_FILES]
        execution_prefix = join_uri(base, str(options["pipeline_execution_id"])) + "/"
        wanted += [uri for uri in job.ctx.objects.list(execution_prefix) if "/results/" in uri]
        root = job.workspace.host_path(OBJECTS_IN, what="@step objects")
        for uri in dict.fromkeys(wanted):
            if not job.ctx.objects.exists(uri):
                continue
            _scheme, bucket, key = split_uri(uri)
            copy_object(job.ctx.objects, uri, root / bucket / key)

    def finish(self, job: TrainingJob) -> None:
        """Upload what the function wrote (results, results.json, or the exception)."""
        root = job.workspace.host_path(OBJECTS_OUT, what="@step results")
        if not root.is_dir():
            return
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            bucket, _, key = path.relative_to(root).as_posix().partition("/")
            job.ctx.objects.put(f"s3://{bucket}/{key}", path.read_bytes())
