"""The engine runs only as a role its pipeline records as passed (pipelines.engine.roles).

An attacker with write access to the state table writes another role into the pipeline or
into a running execution, as they would with the table's own API; the engine refuses to run
as it: no StepRunner starts with it, no job is created, and the execution fails naming it.
"""

from __future__ import annotations

import json

from pipelines.engine.ids import pipeline_arn
from pipelines.store import Transition

from tests.cloud.drivers import step_of_job
from tests.cloud.harness import ACCOUNT, REGION, Cloud, wait_until
from tests.cloud.moto_patches import Hold
from tests.cloud.scenarios import pipeline, processing

ATTACKER_ROLE = "arn:aws:iam::123456789012:role/pipelines/Admin"


def _runner_roles(cloud: Cloud, execution_id: str) -> set[str]:
    roles = set()
    for item in cloud.runner_executions(execution_id):
        described = cloud.sfn.describe_execution(executionArn=item["executionArn"])
        roles.add(json.loads(described["input"])["roleArn"])
    return roles


def test_a_role_written_into_the_pipeline_record_directly_is_never_assumed(cloud: Cloud) -> None:
    cloud.register(json.dumps(pipeline(processing("A"))))
    stored = cloud.store.get_pipeline(pipeline_arn(REGION, ACCOUNT, "p"))
    assert stored is not None and stored.granted(cloud.role_arn) is not None
    tampered = stored.model_copy(update={"role_arn": ATTACKER_ROLE, "version": stored.version + 1})
    cloud.store.update_pipeline(tampered, stored.version)

    final = cloud.run()

    assert final.status == "Failed"
    assert final.role_arn == ATTACKER_ROLE
    assert final.failure_reason is not None
    assert ATTACKER_ROLE in final.failure_reason and "not recorded as passed" in final.failure_reason
    assert cloud.runner_executions(final.execution_id) == []
    assert cloud.moto.jobs.created == []


def test_a_role_written_into_a_running_execution_starts_no_further_step(cloud: Cloud) -> None:
    cloud.register(json.dumps(pipeline(processing("A"), processing("B", DependsOn=["A"]))))
    cloud.moto.jobs.decide = lambda kind, name, request: Hold() if step_of_job(name)[0] == "A" else None
    execution = cloud.start()
    wait_until(lambda: bool(cloud.moto.jobs.held))
    wait_until(lambda: cloud.steps(execution.execution_id)["A"].status == "Executing")

    state = cloud.store.load_state(execution.execution_id)
    assert state is not None
    current = state.execution
    cloud.store.apply(
        Transition(
            execution=current.model_copy(update={"role_arn": ATTACKER_ROLE, "version": current.version + 1}),
            expected_version=current.version,
        )
    )
    (held,) = list(cloud.moto.jobs.held)
    cloud.moto.jobs.release(held)

    final = cloud.wait(execution.execution_arn)
    steps = cloud.steps(final.execution_id)
    assert final.status == "Failed"
    assert final.failure_reason is not None and ATTACKER_ROLE in final.failure_reason
    assert steps["A"].status == "Succeeded" and "B" not in steps
    assert _runner_roles(cloud, final.execution_id) == {cloud.role_arn}
