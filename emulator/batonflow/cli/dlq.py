"""``baton dlq``: the messages the stack's functions gave up on, and sending them back.

Every queue a function consumes has a dead-letter queue (``RedrivePolicy`` in template.yaml): a message
that failed ``maxReceiveCount`` times waits there instead of blocking its queue or being lost. The
stack's queues are found by their name prefix (``BATON_QUEUE_PREFIX``, ``<stack name>-``), each dead-letter
queue through the ``RedrivePolicy`` of the queue it serves.

Redrive receives from the dead-letter queue, sends each message back to its queue and deletes it only
once sent: a crash in between sends a message twice, which every handler takes (they are idempotent).
FIFO messages keep their message group, so a workflow's messages stay in order among themselves.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from batonflow.cli.connection import aws_errors, fail
from batonflow.model.wire import REDRIVEN_ATTRIBUTE

console = Console()
app = typer.Typer(help="List and redrive dead-letter queues.", no_args_is_help=True)

PrefixOption = Annotated[
    str,
    typer.Option(envvar="BATON_QUEUE_PREFIX", help="The stack's queue name prefix (<stack name>-)."),
]
RegionOption = Annotated[str | None, typer.Option(help="AWS region; the default chain's otherwise.")]
_PEEK_VISIBILITY_S = 5
"""How long a listed message stays hidden: long enough to read the whole queue once, then it is back."""


@dataclass(frozen=True)
class DeadLetters:
    source_url: str
    dlq_url: str
    fifo: bool

    @property
    def name(self) -> str:
        return self.dlq_url.rsplit("/", 1)[-1]

    @property
    def source_name(self) -> str:
        return self.source_url.rsplit("/", 1)[-1]


@app.command("list")
def list_messages(
    prefix: PrefixOption = "",
    region: RegionOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Messages shown per queue.")] = 20,
) -> None:
    """Show each dead-letter queue's depth and its first messages (they stay in the queue)."""
    sqs = _client(prefix, region)
    with aws_errors():
        for queues in dead_letter_queues(sqs, prefix):
            depth = _depth(sqs, queues.dlq_url)
            console.print(f"[bold]{queues.name}[/bold] ({depth} messages) for {queues.source_name}")
            messages = peek(sqs, queues, limit) if depth else []
            if messages:
                table = Table("Message id", "Receives", "Body")
                for message in messages:
                    receives = message["Attributes"].get("ApproximateReceiveCount", "?")
                    table.add_row(message["MessageId"], receives, message["Body"][:200])
                console.print(table)


@app.command()
def redrive(
    prefix: PrefixOption = "",
    region: RegionOption = None,
    queue: Annotated[
        str | None, typer.Option(help="Only this dead-letter queue (its name); all of them otherwise.")
    ] = None,
) -> None:
    """Send every dead-lettered message back to the queue it came from."""
    sqs = _client(prefix, region)
    with aws_errors():
        chosen = [q for q in dead_letter_queues(sqs, prefix) if queue is None or q.name == queue]
        if queue is not None and not chosen:
            fail(f"No dead-letter queue {queue} under prefix {prefix}")
        for queues in chosen:
            moved = move_back(sqs, queues)
            console.print(f"{queues.name}: {moved} messages sent back to {queues.source_name}")


def dead_letter_queues(sqs: Any, prefix: str) -> list[DeadLetters]:
    """The stack's queues that have a dead-letter queue, with it."""
    found = []
    for url in _queue_urls(sqs, prefix):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy", "FifoQueue"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if policy:
            dlq_name = json.loads(policy)["deadLetterTargetArn"].rsplit(":", 1)[-1]
            dlq_url = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
            fifo = attributes["Attributes"].get("FifoQueue") == "true"
            found.append(DeadLetters(url, dlq_url, fifo))
    return sorted(found, key=lambda queues: queues.name)


def peek(sqs: Any, queues: DeadLetters, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` messages, hidden only briefly: reading a dead-letter queue does not consume it."""
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < limit:
        batch = _receive(sqs, queues.dlq_url, min(10, limit - len(seen)), _PEEK_VISIBILITY_S)
        fresh = [message for message in batch if message["MessageId"] not in seen]
        if not fresh:
            break
        seen.update((message["MessageId"], message) for message in fresh)
    return list(seen.values())


def move_back(sqs: Any, queues: DeadLetters) -> int:
    """Send every message of the dead-letter queue to its source queue, then delete it; the count moved."""
    moved = 0
    while batch := _receive(sqs, queues.dlq_url, 10, 60):
        entries = []
        for index, message in enumerate(batch):
            entry: dict[str, Any] = {
                "Id": str(index),
                "MessageBody": message["Body"],
                "MessageAttributes": {REDRIVEN_ATTRIBUTE: {"DataType": "String", "StringValue": "true"}},
            }
            if queues.fifo:
                entry["MessageGroupId"] = message["Attributes"]["MessageGroupId"]
                entry["MessageDeduplicationId"] = uuid.uuid4().hex
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=queues.source_url, Entries=entries)
        done = {item["Id"] for item in sent.get("Successful", [])}
        handles = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(batch)
            if str(index) in done
        ]
        if handles:
            sqs.delete_message_batch(QueueUrl=queues.dlq_url, Entries=handles)
        moved += len(handles)
        if len(handles) < len(batch):
            fail(f"{queues.name}: {len(batch) - len(handles)} messages could not be sent back; they stay")
    return moved


def _receive(sqs: Any, url: str, count: int, visibility_s: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=count,
        VisibilityTimeout=visibility_s,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["All"],
    )
    return response.get("Messages", [])


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _queue_urls(sqs: Any, prefix: str) -> list[str]:
    urls: list[str] = []
    kwargs: dict[str, Any] = {"QueueNamePrefix": prefix, "MaxResults": 1000}
    while True:
        page = sqs.list_queues(**kwargs)
        urls.extend(page.get("QueueUrls", []))
        if "NextToken" not in page:
            return urls
        kwargs["NextToken"] = page["NextToken"]


def _client(prefix: str, region: str | None) -> Any:
    import boto3

    if not prefix:
        fail("Name the stack's queue prefix: --prefix <stack name>- (baton up prints BATON_QUEUE_PREFIX)")
    return boto3.session.Session(region_name=region).client("sqs")
