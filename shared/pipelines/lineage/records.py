"""The lineage records both backends keep (JSON bodies, like every store record)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EntityKind = Literal["Action", "Artifact", "Context"]
ENTITY_KINDS: tuple[EntityKind, ...] = ("Action", "Artifact", "Context")
ARN_RESOURCE = {"Action": "action", "Artifact": "artifact", "Context": "context"}
"""The ARN resource type of each kind (``arn:aws:sagemaker:<region>:<account>:action/<name>``)."""


class LineageEntity(BaseModel):
    """An action, artifact or context; ``request`` is its Create* request as the step gave it."""

    model_config = ConfigDict(frozen=True)

    kind: EntityKind
    name: str
    arn: str
    entity_type: str | None = None  # ActionType / ArtifactType / ContextType
    source_uri: str | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    execution_arn: str
    step_name: str
    created_at: datetime


class LineageAssociation(BaseModel):
    model_config = ConfigDict(frozen=True)

    source_arn: str
    destination_arn: str
    association_type: str | None = None
    execution_arn: str
    step_name: str
    created_at: datetime
