import pytest
from tests.cloud.harness import Cloud
from tests.cloud.test_example_pipeline import report_writer, abalone  # noqa
def test_dbg(cloud: Cloud, abalone: str) -> None:
    cloud.moto.jobs.decide = report_writer(mse=4.2)
    final = cloud.run(abalone)
    for n, s in cloud.steps(final.execution_id).items():
        print(n, s.status, s.failure_reason)
