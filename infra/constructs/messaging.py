"""The callback queue (with its dead-letter queue) and the custom event bus for status events."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.settings import Settings


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        self.callback_dlq = sqs.Queue(
            self,
            "CallbackDeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.callback_queue = sqs.Queue(
            self,
            "Callbacks",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.minutes(5),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.callback_dlq),
        )
        self.bus = events.EventBus(self, "StatusEvents", event_bus_name=settings.name("events"))
