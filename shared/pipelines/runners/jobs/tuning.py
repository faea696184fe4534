"""Tuning steps: a CreateHyperParameterTuningJob request run as a local search of training jobs.

Each trial is a Training job (``<tuning job>-<NNN>-<8 hex>``) run by the training runner with
the static hyperparameters plus the trial's values; the objective is the trial's final value
of the objective metric (read from its log through MetricDefinitions). ``Grid`` enumerates the
categorical and integer values; ``Random`` samples; ``Bayesian`` and ``Hyperband`` have no local
implementation and sample randomly, as the log says. Up to ``MaxNumberOfTrainingJobs`` trials
run, ``MaxParallelTrainingJobs`` at a time; when ``MaxRuntimeInSeconds`` runs out the running
trials are stopped and the tuning job ends with the trials that finished. The properties are the
DescribeHyperParameterTuningJob response plus ``TrainingJobSummaries`` (best first), so
``Steps.Tune.BestTrainingJob.TrainingJobName`` and the SDK's ``get_top_model_s3_uri`` resolve.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.runners.base import RunContext, StepRequest, StepResult
from pipelines.runners.jobs import describe
from pipelines.runners.jobs.container import JobLabel, as_list, as_mapping
from pipelines.runners.jobs.errors import CLIENT_ERROR, JobError, JobRequestError, JobStopped
from pipelines.runners.jobs.records import tracked_job
from pipelines.runners.jobs.training import TrainingRunner, check_training_request

DEFAULT_MAX_JOBS = 1
TRAINING_DEFINITION_KEYS = (
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "VpcConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)


@dataclasses.dataclass(frozen=True)
class Trial:
    number: int
    job_name: str
    hyperparameters: dict[str, str]  # the tuned values only


@dataclasses.dataclass
class TrialOutcome:
    trial: Trial
    describe: dict[str, Any] | None
    failure: str | None
    objective: float | None
    stopped: bool = False


def _scaled(low: float, high: float, scaling: str, rng: random.Random) -> float:
    if scaling == "Logarithmic" and low > 0:
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    if scaling == "ReverseLogarithmic" and high < 1:
        return 1 - math.exp(rng.uniform(math.log(1 - high), math.log(1 - low)))
    return rng.uniform(low, high)


def _format_number(value: float) -> str:
    return repr(float(value))


class ParameterSpace:
    """The ranges of ParameterRanges, able to sample (Random) or enumerate (Grid)."""

    def __init__(self, ranges: Mapping[str, Any], *, what: str) -> None:
        self.integers = [
            as_mapping(r, what=what) for r in as_list(ranges.get("IntegerParameterRanges"), what=what)
        ]
        self.continuous = [
            as_mapping(r, what=what) for r in as_list(ranges.get("ContinuousParameterRanges"), what=what)
        ]
        self.categorical = [
            as_mapping(r, what=what) for r in as_list(ranges.get("CategoricalParameterRanges"), what=what)
        ]
        self.what = what
        if not (self.integers or self.continuous or self.categorical):
            raise JobRequestError(f"{what}: ParameterRanges defines no parameter to tune")

    def sample(self, rng: random.Random) -> dict[str, str]:
        values: dict[str, str] = {}
        for spec in self.integers:
            values[str(spec["Name"])] = str(
                round(
                    _scaled(
                        int(spec["MinValue"]),
                        int(spec["MaxValue"]),
                        str(spec.get("ScalingType", "Auto")),
                        rng,
                    )
                )
            )
        for spec in self.continuous:
            low, high = float(spec["MinValue"]), float(spec["MaxValue"])
            values[str(spec["Name"])] = _format_number(
                _scaled(low, high, str(spec.get("ScalingType", "Auto")), rng)
            )
        for spec in self.categorical:
            values[str(spec["Name"])] = str(rng.choice(list(spec["Values"])))
        return values

    def grid(self) -> list[dict[str, str]]:
        if self.continuous:
            names = ", ".join(str(s["Name"]) for s in self.continuous)
            raise JobRequestError(
                f"{self.what}: the Grid strategy cannot enumerate continuous parameters ({names})"
            )
        axes: list[tuple[str, list[str]]] = [
            (str(s["Name"]), [str(v) for v in range(int(s["MinValue"]), int(s["MaxValue"]) + 1)])
            for s in self.integers
        ]
        axes += [(str(s["Name"]), [str(v) for v in s["Values"]]) for s in self.categorical]
        return [
            dict(zip([a[0] for a in axes], combo, strict=True))
            for combo in itertools.product(*(a[1] for a in axes))
        ]


def trial_job_name(tuning_job: str, number: int, hyperparameters: Mapping[str, str]) -> str:
    digest = hashlib.sha256(
        json.dumps([tuning_job, number, dict(hyperparameters)], sort_keys=True).encode()
    ).hexdigest()
    return f"{tuning_job}-{number:03d}-{digest[:8]}"


class TuningRunner:
    step_type: ClassVar[str] = "Tuning"

    def __init__(self, training: TrainingRunner | None = None) -> None:
        self.training = training or TrainingRunner()

    def check(self, step: Step, config: Config) -> str | None:
        arguments = step.arguments if isinstance(step.arguments, Mapping) else {}
        if arguments.get("TrainingJobDefinitions"):
            return (
                f"step {step.name}: tuning several training job definitions at once is not supported locally"
            )
        if arguments.get("WarmStartConfig"):
            return (
                f"step {step.name}: WarmStartConfig (continuing earlier tuning jobs) is not supported locally"
            )
        definition = arguments.get("TrainingJobDefinition")
        if not isinstance(definition, Mapping):
            return f"step {step.name}: a Tuning step needs TrainingJobDefinition"
        return check_training_request(step.name, definition, config, self.training.programs)

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        config = ctx.config
        arguments = as_mapping(request.arguments, what=f"step {request.step_name}: Arguments")
        arn = describe.job_arn(config, "TuningJob", request.job_name)
        label = JobLabel.for_job(request, config, "TuningJob")
        tuning = as_mapping(
            arguments.get("HyperParameterTuningJobConfig"), what=label.reason("HyperParameterTuningJobConfig")
        )
        definition = as_mapping(
            arguments.get("TrainingJobDefinition"), what=label.reason("TrainingJobDefinition")
        )
        if not definition:
            raise label.request_error("the request has no TrainingJobDefinition")
        objective = as_mapping(tuning.get("HyperParameterTuningJobObjective"), what=label.reason("objective"))
        metric_name, goal = objective.get("MetricName"), objective.get("Type", "Maximize")
        if not metric_name:
            raise label.request_error("HyperParameterTuningJobObjective has no MetricName")
        limits = as_mapping(tuning.get("ResourceLimits"), what=label.reason("ResourceLimits"))
        max_jobs = int(limits.get("MaxNumberOfTrainingJobs", DEFAULT_MAX_JOBS))
        parallel = max(1, int(limits.get("MaxParallelTrainingJobs", 1)))
        trials = self._plan(request.job_name, tuning, max_jobs, label, ctx)
        ctx.log(
            label.note(f"{len(trials)} training job(s), {parallel} at a time, objective {goal} {metric_name}")
        )
        times = describe.JobTimes()
        times.start()
        limit = limits.get("MaxRuntimeInSeconds")
        outcomes = self._run_trials(
            request,
            ctx,
            definition,
            trials,
            parallel,
            str(metric_name),
            arn,
            float(limit) if limit else None,
        )
        times.end()
        if ctx.cancel.is_set():
            raise JobStopped(
                label.reason("stopped: the execution was stopped while the trials ran"),
                metadata=dict(label.metadata),
            )
        summaries = [self._summary(config, o, request.job_name, str(metric_name)) for o in outcomes]
        scored = [s for s, o in zip(summaries, outcomes, strict=True) if o.objective is not None]
        scored.sort(
            key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
            reverse=goal == "Maximize",
        )
        ordered = scored + [s for s in summaries if s not in scored]
        if not scored:
            failures = "; ".join(
                f"{o.trial.job_name}: {o.failure or 'no objective metric'}" for o in outcomes
            )
            raise JobError(
                label.reason(f"no training job reported the objective metric {metric_name}: {failures}"),
                error_code=CLIENT_ERROR,
                metadata=dict(label.metadata),
            )
        completed = sum(1 for o in outcomes if o.failure is None)
        stopped = sum(1 for o in outcomes if o.stopped)
        properties = describe.job_description(
            config,
            "TuningJob",
            request,
            arguments,
            times,
            status="Completed",
            TrainingJobStatusCounters={
                "Completed": completed,
                "InProgress": 0,
                "RetryableError": 0,
                "NonRetryableError": len(outcomes) - completed - stopped,
                "Stopped": stopped,
            },
            ObjectiveStatusCounters={
                "Succeeded": len(scored),
                "Pending": 0,
                "Failed": len(outcomes) - len(scored),
            },
            # ListTrainingJobsForHyperParameterTuningJob, best first: what get_top_model_s3_uri indexes
            TrainingJobSummaries=ordered,
            BestTrainingJob=scored[0],
        )
        return StepResult(properties=properties, metadata=dict(label.metadata))

    def _plan(
        self, job_name: str, tuning: Mapping[str, Any], max_jobs: int, label: JobLabel, ctx: RunContext
    ) -> list[Trial]:
        space = ParameterSpace(
            as_mapping(tuning.get("ParameterRanges"), what="ParameterRanges"),
            what=label.reason("ParameterRanges"),
        )
        strategy = str(tuning.get("Strategy", "Bayesian"))
        if strategy == "Grid":
            combos = space.grid()[:max_jobs] if max_jobs else space.grid()
        else:
            if strategy != "Random":
                ctx.log(label.note(f"strategy {strategy} has no local implementation: sampling at random"))
            if tuning.get("TrainingJobEarlyStoppingType", "Off") != "Off":
                ctx.log(label.note("training job early stopping is not applied locally"))
            seed = tuning.get("RandomSeed")
            rng = random.Random(seed if isinstance(seed, int) else job_name)
            combos = [space.sample(rng) for _ in range(max_jobs)]
        return [Trial(n, trial_job_name(job_name, n, c), c) for n, c in enumerate(combos, start=1)]

    def _run_trials(
        self,
        request: StepRequest,
        ctx: RunContext,
        definition: Mapping[str, Any],
        trials: list[Trial],
        parallel: int,
        metric_name: str,
        tuning_arn: str,
        max_runtime: float | None,
    ) -> list[TrialOutcome]:
        """Run the trials; a stopped execution, or ResourceLimits.MaxRuntimeInSeconds running out,
        stops the running trials and starts no more (the finished ones still count)."""
        static = {
            str(k): str(v)
            for k, v in as_mapping(
                definition.get("StaticHyperParameters"), what="StaticHyperParameters"
            ).items()
        }
        base = {k: definition[k] for k in TRAINING_DEFINITION_KEYS if k in definition}
        log_lock = threading.Lock()

        def log(line: str) -> None:
            with log_lock:
                ctx.log(line)

        trials_cancel = threading.Event()
        finished = threading.Event()

        def relay_stop() -> None:
            deadline = time.monotonic() + max_runtime if max_runtime else None
            while not finished.is_set():
                if ctx.cancel.is_set() or (deadline is not None and time.monotonic() >= deadline):
                    if not ctx.cancel.is_set():
                        log(
                            f"tuning job {request.job_name}: ResourceLimits.MaxRuntimeInSeconds reached, stopping trials"
                        )
                    trials_cancel.set()
                    return
                finished.wait(0.1)

        def run_one(trial: Trial) -> TrialOutcome:
            if trials_cancel.is_set():
                return TrialOutcome(trial, None, "stopped before it started", None, stopped=True)
            trial_request = dataclasses.replace(
                request,
                arguments={**base, "HyperParameters": {**static, **trial.hyperparameters}},
                job_name=trial.job_name,
            )
            trial_ctx = dataclasses.replace(ctx, log=log, cancel=trials_cancel)
            try:
                properties = self._run_trial(trial_request, trial_ctx, tuning_arn)
            except JobStopped as exc:
                return TrialOutcome(trial, None, str(exc), None, stopped=True)
            except JobError as exc:
                log(f"trial {trial.job_name} failed: {exc}")
                return TrialOutcome(trial, None, str(exc), None)
            value = next(
                (
                    m["Value"]
                    for m in properties.get("FinalMetricDataList", [])
                    if m["MetricName"] == metric_name
                ),
                None,
            )
            return TrialOutcome(trial, properties, None, value)

        relay = threading.Thread(target=relay_stop, daemon=True)
        relay.start()
        try:
            with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="tuning-trial") as pool:
                return list(pool.map(run_one, trials))
        finally:
            finished.set()
            relay.join()

    def _run_trial(self, request: StepRequest, ctx: RunContext, tuning_arn: str) -> dict[str, Any]:
        """One training trial, recorded as a job of its tuning job when the runtime keeps records."""
        if ctx.jobs is None:
            return self.training.run_job(request, ctx, tuning_job_arn=tuning_arn)
        parent = tuning_arn.rpartition("/")[2]
        with tracked_job(ctx.jobs, "TrainingJob", request, ctx, parent=parent) as job:
            properties = self.training.run_job(request, job.ctx, tuning_job_arn=tuning_arn)
            job.completed(properties)
        return properties

    def _summary(
        self, config: Config, outcome: TrialOutcome, tuning_job: str, metric_name: str
    ) -> dict[str, Any]:
        trial, props = outcome.trial, outcome.describe or {}
        summary: dict[str, Any] = {
            "TrainingJobName": trial.job_name,
            "TrainingJobArn": props.get("TrainingJobArn")
            or describe.job_arn(config, "TrainingJob", trial.job_name),
            "TuningJobName": tuning_job,
            "CreationTime": props.get("CreationTime") or describe.iso(describe.now()),
            "TrainingJobStatus": "Completed"
            if outcome.failure is None
            else "Stopped"
            if outcome.stopped
            else "Failed",
            "TunedHyperParameters": trial.hyperparameters,
            "ObjectiveStatus": "Succeeded" if outcome.objective is not None else "Failed",
        }
        for key in ("TrainingStartTime", "TrainingEndTime"):
            if props.get(key):
                summary[key] = props[key]
        if outcome.failure:
            summary["FailureReason"] = outcome.failure[:1024]
        if outcome.objective is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "MetricName": metric_name,
                "Value": outcome.objective,
            }
        return summary
