"""A read that was clean for one step is a self-reference in the step it names: the validator's
memo of clean reads (shared by the steps of a definition) must not hide that."""

from __future__ import annotations

import json

from pipelines.definition import check_definition


def lambda_step(name: str, reads: str) -> dict[str, object]:
    return {
        "Name": name,
        "Type": "Lambda",
        "FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:f",
        "Arguments": {"value": {"Get": reads}},
        "OutputParameters": [{"OutputName": "out", "OutputType": "String"}],
    }


def test_a_memoised_read_of_a_step_is_still_a_self_reference_in_that_step() -> None:
    reads = "Steps.B.OutputParameters['out']"
    text = json.dumps({"Version": "2020-12-01", "Steps": [lambda_step("A", reads), lambda_step("B", reads)]})
    errors = check_definition(text).to_dict()["errors"]
    assert [e["message"] for e in errors if e["kind"] == "reference"] == [
        f"{reads!r}: a step cannot reference its own properties"
    ]
