"""Where an execution's MLflow runs go: a tracking URI for a tracking-server ARN.

Embedded: the config's ``[mlflow]`` table maps ARNs (exact, then glob) to tracking URIs; a
server with no entry logs to ``sqlite:///<state_dir>/mlflow.db``, so runs are never lost for
lack of a server and ``mlflow ui --backend-store-uri`` on that file shows them. Cloud: the ARN
itself is the tracking URI; the ``sagemaker-mlflow`` plugin resolves it and signs the requests.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from pathlib import Path

from pipelines.store.base import MlflowBinding

CLOUD_JOB_STEP_TYPES: frozenset[str] = frozenset({"Processing", "Training", "Transform"})

DEFAULT_DATABASE = "mlflow.db"


def default_tracking_uri(state_dir: Path) -> str:
    """The local store a pipeline with MlflowConfig and no ``[mlflow]`` entry logs to."""
    return f"sqlite:///{(state_dir / DEFAULT_DATABASE).resolve()}"


def embedded_tracking_uri(resource_arn: str, mapping: Mapping[str, str], state_dir: Path) -> str:
    """The tracking URI for ``resource_arn``: an exact ``[mlflow]`` entry, else the first glob
    that matches, else the local default."""
    if resource_arn in mapping:
        return mapping[resource_arn]
    for pattern, uri in mapping.items():
        if fnmatch.fnmatchcase(resource_arn, pattern):
            return uri
    return default_tracking_uri(state_dir)


def cloud_tracking_uri(resource_arn: str) -> str:
    """In the cloud the ARN is the tracking URI (the ``sagemaker-mlflow`` plugin's scheme)."""
    return resource_arn


def cloud_job_environment(binding: MlflowBinding | None, step_type: str) -> dict[str, str]:
    """Variables a cloud job of ``step_type`` gets so that a script with mlflow and the
    ``sagemaker-mlflow`` plugin logs to the execution's tracking server and experiment:
    MLFLOW_TRACKING_ARN, and MLFLOW_TRACKING_URI set to the same ARN (the plugin's scheme).
    The cloud creates no runs yet, so there is no MLFLOW_RUN_ID: the script's run is its own."""
    if binding is None or step_type not in CLOUD_JOB_STEP_TYPES:
        return {}
    arn = cloud_tracking_uri(binding.resource_arn)
    return {
        "MLFLOW_TRACKING_ARN": arn,
        "MLFLOW_TRACKING_URI": arn,
        "MLFLOW_EXPERIMENT_NAME": binding.experiment_name,
    }
