"""The durable local callback queue and the messages Callback steps put on it."""

from pipelines.callbacks.messages import STOPPING, callback_message
from pipelines.callbacks.queue import CallbackQueue, InvalidReceiptHandle, QueuedMessage, queue_name

__all__ = [
    "STOPPING",
    "CallbackQueue",
    "InvalidReceiptHandle",
    "QueuedMessage",
    "callback_message",
    "queue_name",
]
