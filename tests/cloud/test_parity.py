"""The same scenarios in the cloud runtime (moto) and the embedded runtime: both must end with
the statuses, attempts and failure reasons the table states, and Callback steps must send the
same message bodies (see tests/cloud/scenarios.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cloud.drivers import CloudDriver, EmbeddedDriver
from tests.cloud.harness import Cloud
from tests.cloud.scenarios import SCENARIOS, Driver, RunOutcome, Scenario, outcome_of


def play(scenario: Scenario, driver: Driver) -> list[RunOutcome]:
    arns = scenario.drive(driver)
    if scenario.check is not None:
        scenario.check(driver, arns)
    finals = []
    for arn in arns:
        steps = driver.steps(arn)
        assert steps, f"{arn} recorded no steps"
        finals.append(arn)
    return [outcome_of(driver, arn, _final(driver, arn)) for arn in finals]


def _final(driver: Driver, arn: str):
    if isinstance(driver, CloudDriver):
        return driver.cloud.execution(arn)
    assert isinstance(driver, EmbeddedDriver)
    record = driver.store.get_execution(arn.rsplit("/", 1)[-1])
    assert record is not None
    return record


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_both_runtimes_agree(scenario: Scenario, cloud: Cloud, tmp_path: Path) -> None:
    in_cloud = play(scenario, CloudDriver(cloud, scenario))
    embedded_driver = EmbeddedDriver(tmp_path, scenario)
    try:
        embedded = play(scenario, embedded_driver)
    finally:
        embedded_driver.close()
    assert in_cloud == scenario.expected
    assert embedded == scenario.expected
