"""``pipelines run`` of the v3 SDK's Job steps (tests/fixtures/sdk_v3): a managed
model-customization workload has no local equivalent, so the run is refused before it starts,
naming each Job step and its JobCategory, and saying that the cloud runtime runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import Invoke

SDK_V3 = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"


@pytest.mark.parametrize(
    ("fixture", "step", "category"),
    [("job", "AgentRFT", "AgentRFT"), ("mtrl_evaluation", "EvaluateBaseModel", "AgentRFTEvaluation")],
)
def test_run_refuses_a_job_step_naming_it_and_pointing_to_the_cloud(
    tmp_path: Path, fixture: str, step: str, category: str
) -> None:
    (tmp_path / "pipelines.toml").write_text('state_dir = ".pipelines"\nobject_root = "objects"\n')
    invoke = Invoke(tmp_path / "pipelines.toml")
    result = invoke("run", str(SDK_V3 / f"{fixture}.json"), "--quiet")

    assert result.exit_code != 0
    output = " ".join(result.output.split())
    assert f"step {step}: type Job (JobCategory {category}) is not run by the embedded runtime" in output
    assert "model-customization" in output and "the cloud runtime runs it" in output
