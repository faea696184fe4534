"""A run context whose log the tests can read, on a config rooted in tmp_path."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from pipelines.config import Config
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext


@dataclass
class LogLines:
    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)

    @property
    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines)


@pytest.fixture
def log() -> LogLines:
    return LogLines()


@pytest.fixture
def objects(config: Config) -> LocalObjectStore:
    return LocalObjectStore(config.object_root)


@pytest.fixture
def job_ctx(config: Config, objects: LocalObjectStore, log: LogLines) -> RunContext:
    return RunContext(config=config, objects=objects, log=log)
