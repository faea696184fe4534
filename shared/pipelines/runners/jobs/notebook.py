"""NotebookJob steps: Training jobs whose entrypoint is ``amazon_sagemaker_scheduler``.

The SDK stages the notebook (and an optional init script) in the input channel
``sagemaker_headless_execution_pipelinestep`` and names them in ``SM_INPUT_NOTEBOOK_NAME`` /
``SM_INIT_SCRIPT``; parameters arrive as HyperParameters. Locally the notebook runs headless
with papermill (or nbclient) from the image's interpreter; the executed notebook is written to
``/opt/ml/output/data/<SM_OUTPUT_NOTEBOOK_NAME>``, so it lands in the job's ``output.tar.gz``
as the managed scheduler's output does. An interpreter with neither package fails the step
with the missing package named.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.runners.jobs.training_job import TrainingJob

SCHEDULER_ENTRYPOINT = "amazon_sagemaker_scheduler"
INPUT_CHANNEL = "sagemaker_headless_execution_pipelinestep"
DRIVER = Path(__file__).with_name("_notebook_driver.py")


class NotebookProgram:
    def matches(self, entrypoint: list[Any]) -> bool:
        return [str(e) for e in entrypoint] == [SCHEDULER_ENTRYPOINT]

    def check(self, step: Step, config: Config) -> str | None:
        arguments = step.arguments if isinstance(step.arguments, Mapping) else {}
        environment = arguments.get("Environment") or {}
        if isinstance(environment, Mapping) and environment.get("SM_INPUT_NOTEBOOK_NAME") is None:
            return f"step {step.name}: a NotebookJob step needs Environment.SM_INPUT_NOTEBOOK_NAME"
        return None

    def prepare(self, job: TrainingJob) -> tuple[list[str], str]:
        if not job.env.get("SM_INPUT_NOTEBOOK_NAME"):
            raise job.label.request_error("a NotebookJob needs Environment.SM_INPUT_NOTEBOOK_NAME")
        job.env.setdefault("SM_EXECUTION_INPUT_PATH", f"/opt/ml/input/data/{INPUT_CHANNEL}")
        job.env.setdefault("SM_OUTPUT_NOTEBOOK_NAME", f"{job.request.job_name}.ipynb")
        job.ctx.log(job.label.note(f"running notebook {job.env['SM_INPUT_NOTEBOOK_NAME']} headless"))
        return [*job.interpreter.argv, str(DRIVER)], f"/opt/ml/input/data/{INPUT_CHANNEL}"

    def finish(self, job: TrainingJob) -> None:
        """Nothing beyond the training outputs: the notebook is in /opt/ml/output/data."""
