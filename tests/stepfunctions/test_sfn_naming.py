"""StepRunner execution names: valid for Step Functions and unique per (execution, step, attempt)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipelines.stepfunctions import step_runner_execution_name

VALID = re.compile(r"^[0-9A-Za-z_-]{1,80}$")
EXECUTION_IDS = st.one_of(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=12, max_size=12),  # the service's ids
    st.text(min_size=1, max_size=90),  # anything else must still give a valid, unique name
)
STEP_NAMES = st.one_of(
    st.from_regex(r"[A-Za-z0-9\-_]{1,64}", fullmatch=True),  # the schema's StepName pattern
    st.text(min_size=1, max_size=120),
)
TRIPLES = st.tuples(EXECUTION_IDS, STEP_NAMES, st.integers(min_value=1, max_value=10_000))


def test_readable_names_are_kept() -> None:
    assert step_runner_execution_name("7pinimwddh3a", "Train-Model_1", 2) == "7pinimwddh3a-Train-Model_1-2"


def test_longest_schema_step_name_still_fits() -> None:
    name = step_runner_execution_name("7pinimwddh3a", "S" * 64, 20)
    assert VALID.match(name) and name.endswith("-20")


def test_names_that_would_merge_when_sanitized_stay_apart() -> None:
    names = {step_runner_execution_name("abc", step, 1) for step in ("a.b", "a:b", "a b", "a-b")}
    assert len(names) == 4 and all(VALID.match(name) for name in names)


def test_ambiguous_splits_stay_apart() -> None:
    """'a-b' + 'c' and 'a' + 'b-c' would both read 'a-b-c-1'."""
    assert step_runner_execution_name("a-b", "c", 1) != step_runner_execution_name("a", "b-c", 1)


@given(TRIPLES)
@settings(max_examples=300, deadline=None)
def test_every_name_is_valid(triple: tuple[str, str, int]) -> None:
    name = step_runner_execution_name(*triple)
    assert VALID.match(name), name
    assert name.endswith(f"-{triple[2]}")


@given(st.lists(TRIPLES, min_size=2, max_size=40, unique=True))
@settings(max_examples=200, deadline=None)
def test_distinct_attempts_get_distinct_names(triples: list[tuple[str, str, int]]) -> None:
    names = [step_runner_execution_name(*triple) for triple in triples]
    assert len(set(names)) == len(names)


@given(TRIPLES)
@settings(max_examples=100, deadline=None)
def test_names_are_stable(triple: tuple[str, str, int]) -> None:
    assert step_runner_execution_name(*triple) == step_runner_execution_name(*triple)


@pytest.mark.parametrize(("execution_id", "step", "attempt"), [("", "s", 1), ("e", "", 1), ("e", "s", 0)])
def test_degenerate_inputs_are_refused(execution_id: str, step: str, attempt: int) -> None:
    with pytest.raises(ValueError):
        step_runner_execution_name(execution_id, step, attempt)
