"""The durable local callback queue: SQS's receive/visibility/delete contract, across processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from pipelines.callbacks import CallbackQueue, InvalidReceiptHandle, queue_name

URL = "https://sqs.us-east-2.amazonaws.com/123456789012/MyQueue"


@pytest.fixture
def queue(tmp_path: Path) -> CallbackQueue:
    return CallbackQueue(tmp_path / "pipelines.sqlite")


def test_queue_name_from_url_or_name() -> None:
    assert queue_name(URL) == "MyQueue"
    assert queue_name("MyQueue") == "MyQueue"
    assert queue_name(URL + "/") == "MyQueue"


def test_messages_are_received_oldest_first_by_url_or_name(queue: CallbackQueue) -> None:
    queue.send(URL, {"token": "a"})
    queue.send("MyQueue", {"token": "b"})
    queue.send("https://sqs.us-east-2.amazonaws.com/123456789012/Other", {"token": "c"})
    received = queue.receive("MyQueue", max_messages=10)
    assert [m.body["token"] for m in received] == ["a", "b"]
    assert all(m.receipt_handle and m.receive_count == 1 for m in received)


def test_received_messages_are_hidden_until_the_visibility_timeout(queue: CallbackQueue) -> None:
    queue.send(URL, {"token": "a"})
    first = queue.receive(URL, visibility_timeout=0.2)
    assert len(first) == 1
    assert queue.receive(URL) == []
    time.sleep(0.3)  # the timeout itself is what is under test
    again = queue.receive(URL)
    assert [m.receive_count for m in again] == [2]
    with pytest.raises(InvalidReceiptHandle):
        queue.delete(URL, first[0].receipt_handle or "")  # stale handle after a re-receive
    queue.delete(URL, again[0].receipt_handle or "")
    assert queue.peek(URL) == []


def test_dedupe_id_enqueues_once(queue: CallbackQueue) -> None:
    first = queue.send(URL, {"token": "a"}, dedupe_id="a:Executing")
    second = queue.send(URL, {"token": "a"}, dedupe_id="a:Executing")
    assert first == second
    assert len(queue.peek()) == 1


def test_purge_token_drops_only_that_tokens_messages(queue: CallbackQueue) -> None:
    queue.send(URL, {"token": "a"})
    queue.send(URL, {"token": "a", "status": "Stopping"})
    queue.send(URL, {"token": "b"})
    assert queue.purge_token("a") == 2
    assert [m.body["token"] for m in queue.peek()] == ["b"]


def test_messages_survive_and_cross_processes(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.sqlite"
    CallbackQueue(path).send(URL, {"token": "from-parent"})
    script = (
        "import sys, json\n"
        "from pipelines.callbacks import CallbackQueue\n"
        "q = CallbackQueue(sys.argv[1])\n"
        "[m] = q.receive(sys.argv[2])\n"
        "q.delete(sys.argv[2], m.receipt_handle)\n"
        "q.send(sys.argv[2], {'token': 'from-child', 'saw': m.body['token']})\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path), URL], check=True, timeout=60)
    assert [m.body for m in CallbackQueue(path).peek(URL)] == [{"token": "from-child", "saw": "from-parent"}]
