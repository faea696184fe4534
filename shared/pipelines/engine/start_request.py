"""StartRequest: everything a caller says when it starts an execution, as one typed value.

A start travels through up to five layers (the API's StartPipelineExecution, the API Lambda's
EngineClient, the engine Lambda's event, CloudRuntime or EmbeddedRuntime, Engine.start). Each
used to repeat the same dozen keyword arguments, so a new start option meant five edits and a
forgotten one was silently dropped (the API never passed ``created_by``). Now each layer passes
one ``StartRequest`` through, and a new option is one field here plus where it is read.

The model is frozen, and it is also the wire shape between the API Lambda and the engine
Lambda: ``to_event()`` dumps it with camelCase aliases and ``model_validate`` reads it back, so
the two Lambdas cannot disagree about a member.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipelines.store.base import SelectiveExecutionConfig

_NOT_FINGERPRINTED = frozenset({"client_request_token", "created_by"})


class StartRequest(BaseModel):
    """One StartPipelineExecution, after the caller's input was checked.

    ``parameters`` are the raw start values (strings as the API sends them); the engine
    coerces them by their declared types. ``parallelism`` wins over the pipeline's own limit.
    ``pipeline_version_id`` runs that stored version instead of the latest.
    ``mlflow_experiment_name`` overrides the MLflow experiment of a definition with
    ``MlflowConfig`` for this execution only. ``created_by`` is the caller as SageMaker's
    UserContext (``{"IamIdentity": {"Arn", "PrincipalId"}}``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    pipeline_name: str = Field(
        alias="pipelineName", min_length=1
    )  # a name in the engine's account, or an ARN
    parameters: dict[str, Any] = Field(default_factory=dict)
    parallelism: int | None = None
    selective: SelectiveExecutionConfig | None = None
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None
    client_request_token: str | None = Field(default=None, alias="clientRequestToken")
    created_by: dict[str, Any] | None = Field(default=None, alias="createdBy")
    pipeline_version_id: int | None = Field(default=None, alias="pipelineVersionId")
    mlflow_experiment_name: str | None = Field(default=None, alias="mlflowExperimentName")

    def to_event(self) -> dict[str, Any]:
        """The JSON form (camelCase members) the engine Lambda's StartExecution event carries."""
        return self.model_dump(mode="json", by_alias=True)

    def fingerprint(self) -> str:
        """A digest of what the request asks for, to tell a ClientRequestToken replay from a
        different request under the same token. Who asked, and the token itself, are left out:
        a retry of the same request by the same caller must replay."""
        asked = self.model_dump(mode="json", exclude=set(_NOT_FINGERPRINTED))
        return hashlib.sha256(json.dumps(asked, sort_keys=True, default=str).encode()).hexdigest()
