"""The callback queue (with its dead-letter queue), the engine's FIFO queue (with its own), and
the custom event bus for status events."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.settings import Settings


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        self.callback_dlq = dead_letter_queue(self, "CallbackDeadLetters")
        self.callback_queue = private_queue(
            self,
            "Callbacks",
            visibility_timeout=cdk.Duration.minutes(5),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.callback_dlq),
        )
        self.bus = events.EventBus(self, "StatusEvents", event_bus_name=settings.name("events"))
        # The engine's queue: StepRunner reports and callback registrations, grouped by pipeline
        # execution (docs/engine-cloud.md). Lambda requires the visibility timeout to cover the
        # function timeout; AWS recommends 6x. A message that fails 10 deliveries (its group
        # blocked meanwhile) moves to the dead letters and raises the alarm; the engine's sweep
        # then finds the step whose report it was and fails it with the reason.
        self.engine_dlq = dead_letter_queue(self, "EngineDeadLetters", fifo=True)
        self.engine_queue = private_queue(
            self,
            "EngineEvents",
            fifo=True,
            visibility_timeout=cdk.Duration.seconds(ENGINE_TIMEOUT.to_seconds() * 6),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=10, queue=self.engine_dlq),
        )
        self.engine_dlq_alarm = dead_letter_alarm(self, "EngineDeadLettersAlarm", self.engine_dlq)


ENGINE_TIMEOUT = cdk.Duration.minutes(5)
"""The engine Lambda's timeout: a batch may start many StepRunners (a wide DAG's first layer)."""


def private_queue(scope: Construct, construct_id: str, **options: Any) -> sqs.Queue:
    """An SQS-encrypted queue that refuses plain HTTP (every queue the stacks make); ``options``
    are the queue's own settings (FIFO, timeouts, its dead-letter queue)."""
    return sqs.Queue(
        scope, construct_id, encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, **options
    )


def dead_letter_queue(scope: Construct, construct_id: str, **options: Any) -> sqs.Queue:
    """A :func:`private_queue` for messages that failed: kept 14 days, the longest SQS keeps
    one, for someone to look at."""
    return private_queue(scope, construct_id, retention_period=cdk.Duration.days(14), **options)


def dead_letter_alarm(scope: Construct, construct_id: str, queue: sqs.IQueue) -> cloudwatch.Alarm:
    """An alarm as soon as a dead-letter queue holds a message (someone must look at it)."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        metric=queue.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(5)),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=f"Messages in the dead-letter queue {construct_id.removesuffix('Alarm')}",
    )
