"""The callback queue (with its dead-letter queue), the engine's FIFO queue (with its own), and
the custom event bus for status events."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
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
        # The engine's queue: StepRunner reports and callback registrations, grouped by pipeline
        # execution (docs/engine-cloud.md). Lambda requires the visibility timeout to cover the
        # function timeout; AWS recommends 6x. A message that fails 10 deliveries (its group
        # blocked meanwhile) moves to the dead letters and raises the alarm; the engine's sweep
        # then finds the step whose report it was and fails it with the reason.
        self.engine_dlq = sqs.Queue(
            self,
            "EngineDeadLetters",
            fifo=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.engine_queue = sqs.Queue(
            self,
            "EngineEvents",
            fifo=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(ENGINE_TIMEOUT.to_seconds() * 6),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=10, queue=self.engine_dlq),
        )
        self.engine_dlq_alarm = dead_letter_alarm(self, "EngineDeadLettersAlarm", self.engine_dlq)


ENGINE_TIMEOUT = cdk.Duration.minutes(5)
"""The engine Lambda's timeout: a batch may start many StepRunners (a wide DAG's first layer)."""


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
