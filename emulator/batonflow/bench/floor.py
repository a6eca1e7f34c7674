"""The floor: what the same tasks cost with only the AWS calls a task cannot do without, and no engine.

A task needs at least: a send to its queue, a receive, a delete, and two conditional DynamoDB writes (the
attempt created once, then completed once). :func:`run_floor` does exactly that for the chains the engine
runs (each step is sent only once the previous one is done), on the same endpoint and table, with as many
threads as the bench's workers, batching receives and deletes as a worker would. :func:`raw_round_trips`
times a bare SQS send to a long-polling receiver, the latency the engine's step overhead is compared with.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from batonflow.bench.errors import BenchError

_RECEIVE_WAIT_S = 1
_STALL_S = 120.0


def run_floor(
    sqs: Any,
    dynamodb: Any,
    *,
    table: str,
    chains: int,
    chain_length: int,
    threads: int,
    on_task: Callable[[], None] = lambda: None,
) -> float:
    """Run ``chains`` x ``chain_length`` bare tasks; returns the elapsed seconds."""
    queue_url = sqs.create_queue(
        QueueName=f"bench-floor-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "120"}
    )["QueueUrl"]
    total = chains * chain_length
    done = threading.Semaphore(0)
    stop = threading.Event()

    def send(chain: int, step: int) -> None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"chain": chain, "step": step}))

    def consume() -> None:
        while not stop.is_set():
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=_RECEIVE_WAIT_S
            ).get("Messages", [])
            firsts = [
                body
                for body in (json.loads(message["Body"]) for message in messages)
                if _record_task(dynamodb, table, body["chain"], body["step"])
            ]
            if messages:
                sqs.delete_message_batch(
                    QueueUrl=queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
                        for i, message in enumerate(messages)
                    ],
                )
            for body in firsts:
                if body["step"] + 1 < chain_length:
                    send(body["chain"], body["step"] + 1)
                on_task()
                done.release()

    started = time.perf_counter()
    consumers = [
        threading.Thread(target=consume, name=f"bench-floor-{i}", daemon=True) for i in range(threads)
    ]
    for consumer in consumers:
        consumer.start()
    for chain in range(chains):
        send(chain, 0)
    for _ in range(total):
        if not done.acquire(timeout=_STALL_S):
            stop.set()
            raise BenchError(f"no bare task finished for {_STALL_S:.0f} s")
    elapsed = time.perf_counter() - started
    stop.set()
    for consumer in consumers:
        consumer.join()
    sqs.delete_queue(QueueUrl=queue_url)
    return elapsed


def _record_task(dynamodb: Any, table: str, chain: int, step: int) -> bool:
    """The two writes of one attempt: create it once, then complete it once (both conditional).

    False for a message SQS delivered again: its attempt exists already, and nothing is done twice."""
    key = {"PK": {"S": f"FLOOR#{chain}"}, "SK": {"S": f"T#{step}"}}
    try:
        dynamodb.put_item(
            TableName=table,
            Item={**key, "status": {"S": "SCHEDULED"}},
            ConditionExpression="attribute_not_exists(PK)",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #s = :done",
        ConditionExpression="#s = :scheduled",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":done": {"S": "COMPLETED"}, ":scheduled": {"S": "SCHEDULED"}},
    )
    return True


def raw_round_trips(sqs: Any, samples: int) -> list[float]:
    """Milliseconds from a SendMessage to its receipt by a receiver already waiting in a long poll."""
    queue_url = sqs.create_queue(QueueName=f"bench-roundtrip-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sent_at: dict[str, float] = {}
    received: list[float] = []
    arrived = threading.Semaphore(0)
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            for message in sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=_RECEIVE_WAIT_S
            ).get("Messages", []):
                received.append((time.perf_counter() - sent_at[message["Body"]]) * 1000)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                arrived.release()

    receiver = threading.Thread(target=receive, name="bench-roundtrip", daemon=True)
    receiver.start()
    time.sleep(0.2)  # let the receiver enter its first long poll
    for index in range(samples):
        sent_at[str(index)] = time.perf_counter()
        sqs.send_message(QueueUrl=queue_url, MessageBody=str(index))
        arrived.acquire()
    stop.set()
    receiver.join()
    sqs.delete_queue(QueueUrl=queue_url)
    return received
