"""Errors of the status-event publishers."""

from __future__ import annotations

from pipelines.errors import PipelinesError


class PublishFailed(PipelinesError):
    """Some events could not be sent; the message names each failed entry's error."""

    code = "PublishFailed"
