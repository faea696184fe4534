"""Checking a definition text a few steps at a time, so that a large one stays in the CPU caches.

The whole-document check parses the entire text, then builds every model, then applies the
rules: three passes over the definition. Once a definition holds thousands of steps, the values
parsed first have left the CPU caches by the time their models are built, and the models by the
time the rules read them, so each pass waits on main memory for every step (docs/validation.md
measures it). Here the text is split once into its top-level values and the raw text of each
step (:func:`~pipelines.definition.parser.split_steps`: one scan, nothing built); then, a few
steps at a time, each step is parsed, modelled and given the rules that need no other step
while its data is still cached. The rules that read other steps (DependsOn, the expressions'
references, the DAG) run once every step is known.

The report is exactly the whole-document check's: ``tests/definition/test_stepwise.py`` compares
the two on mutated real definitions. A text this path does not take (one with a syntax or schema
problem, or whose top level is not an object with a ``Steps`` array) gives None, and the caller
checks it whole, which reports every problem with its position or JSON path.
"""

from __future__ import annotations

import msgspec
import pydantic

from pipelines.definition.models import PipelineDefinition, Step
from pipelines.definition.parser import parse_steps, split_steps
from pipelines.definition.problems import Report
from pipelines.definition.validation import (
    LocalFindings,
    LocatedStep,
    StepIndex,
    check_step_local,
    locate_step,
    validate_located,
)

CHUNK_STEPS = 32
"""Top-level steps modelled by one pydantic call: enough to spread the call's own cost, few
enough (about 100 KB of values and models) that they are still cached when their rules run."""

_STEPS: pydantic.TypeAdapter[list[Step]] = pydantic.TypeAdapter(list[Step])


def check_stepwise(text: str) -> Report | None:
    """The report of a decoded definition text, or None when the caller must check it whole."""
    split = split_steps(text)
    if split is None:
        return None
    top, raw_steps = split
    try:
        definition = PipelineDefinition.model_validate(top, strict=True)  # its Steps are []
    except (ValueError, RecursionError):  # pydantic's ValidationError is a ValueError
        return None
    steps: list[Step] = []
    located: list[LocatedStep] = []
    local: list[LocalFindings] = []
    names = StepIndex()
    for start in range(0, len(raw_steps), CHUNK_STEPS):
        chunk = _modelled(raw_steps[start : start + CHUNK_STEPS])
        if chunk is None:
            return None
        for index, step in enumerate(chunk, start):
            first = len(located)
            locate_step(step, index, located)
            for position in range(first, len(located)):
                item = located[position]
                names.add(item)
                local.append(check_step_local(item))
        steps += chunk
    definition.steps = steps
    errors, warnings, graph = validate_located(definition, located, local, names)
    return Report(definition=definition, errors=errors, warnings=warnings, graph=graph)


def _modelled(raw_steps: list[msgspec.Raw]) -> list[Step] | None:
    """The models of some raw steps, or None when one does not parse or fit the schema."""
    try:
        return _STEPS.validate_python(parse_steps(raw_steps), strict=True)
    except (ValueError, RecursionError):
        return None
