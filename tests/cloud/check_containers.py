"""Stand-ins for the Model Monitor analyzer and Clarify containers behind moto's processing jobs.

moto's CreateProcessingJob runs nothing. :class:`CheckContainers` is a ``JobControl.decide``
that plays the container a check step's request names, by its documented contract: it downloads
every ProcessingInput from S3 into a folder that stands for the container's filesystem, runs
this project's analyzer (the one the embedded runtime uses in place of the images) with the
request's Environment, paths mapped into that folder, and uploads what the analyzer wrote under
``/opt/ml/processing/output`` to the output's S3Uri when the job completes. So the cloud runtime
sees exactly the files a container writes: ``statistics.json``, ``constraints.json`` and, only
when the request handed it a baseline (``baseline_constraints``), ``constraint_violations.json``.

Every request it played is kept in :attr:`CheckContainers.requests` for assertions.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pipelines.objects.s3 import S3ObjectStore
from pipelines.runners.checks import analyzer

from tests.cloud.moto_patches import Complete, Failed, JobOutcome

CONTAINER_ROOT = "/opt/ml"
MODEL_MONITOR_IMAGE = "sagemaker-model-monitor-analyzer"
CLARIFY_IMAGE = "sagemaker-clarify-processing"


class CheckContainers:
    """``JobControl.decide`` for check jobs (other jobs complete as moto makes them)."""

    def __init__(self, objects: S3ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.objects = objects
        self.monkeypatch = monkeypatch
        self.requests: list[dict[str, Any]] = []
        self.configs: list[dict[str, Any]] = []  # the analysis configs Clarify jobs read
        self.fail_with: str | None = None

    def decide(self, kind: str, name: str, request: dict[str, Any]) -> JobOutcome | None:
        if kind != "Processing":
            return None
        image = str((request.get("app_specification") or {}).get("ImageUri", ""))
        mode = (
            "model-monitor" if MODEL_MONITOR_IMAGE in image else "clarify" if CLARIFY_IMAGE in image else None
        )
        if mode is None:
            return None
        self.requests.append(request)
        if self.fail_with is not None:
            return Failed(self.fail_with)
        with self._container(request) as root:
            env = {key: _mapped(root, value) for key, value in (request.get("environment") or {}).items()}
            if mode == "model-monitor":
                analyzer.model_monitor(env)
            else:
                refused = self._clarify(root, env)
                if refused is not None:
                    return Failed(refused)
            return Complete(self._outputs(root, request))

    def _clarify(self, root: Path, env: dict[str, str]) -> str | None:
        """Clarify reads fixed container paths; they are mapped into the folder too. Like the
        container, it refuses model methods whose config names no model (``predictor.model_name``:
        the model it would serve on its shadow endpoint); the dataset's ``predicted_label`` column
        stands in for that endpoint's predictions."""
        config = json.loads(Path(_mapped(root, str(analyzer.CLARIFY_CONFIG))).read_text())
        methods = config.get("methods") or {}
        if ("post_training_bias" in methods or "shap" in methods) and not (config.get("predictor") or {}).get(
            "model_name"
        ):
            return "ClientError: the analysis config's predictor names no model_name"
        self.configs.append(config)
        with pytest.MonkeyPatch.context() as patch:
            for name in ("CLARIFY_CONFIG", "CLARIFY_DATA", "CLARIFY_OUTPUT"):
                patch.setattr(analyzer, name, Path(_mapped(root, str(getattr(analyzer, name)))))
            analyzer.clarify(env)
        return None

    @contextmanager
    def _container(self, request: Mapping[str, Any]) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="container-") as folder:
            root = Path(folder)
            for item in request.get("processing_inputs") or []:
                source = item["S3Input"]
                local = Path(_mapped(root, source["LocalPath"]))
                local.mkdir(parents=True, exist_ok=True)
                prefix = source["S3Uri"]
                for uri in self.objects.list(prefix):
                    relative = uri[len(prefix) :].lstrip("/") or uri.rsplit("/", 1)[-1]
                    target = local / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(self.objects.get(uri))
            yield root

    def _outputs(self, root: Path, request: Mapping[str, Any]) -> dict[str, bytes]:
        written: dict[str, bytes] = {}
        for output in (request.get("processing_output_config") or {}).get("Outputs") or []:
            local = Path(_mapped(root, output["S3Output"]["LocalPath"]))
            destination = output["S3Output"]["S3Uri"].rstrip("/")
            for path in sorted(local.rglob("*")):
                if path.is_file():
                    written[f"{destination}/{path.relative_to(local).as_posix()}"] = path.read_bytes()
        return written


def _mapped(root: Path, value: str) -> str:
    """A container path inside the stand-in's folder; other values unchanged."""
    if isinstance(value, str) and value.startswith(CONTAINER_ROOT + "/"):
        return str(root / value.lstrip("/"))
    return value
