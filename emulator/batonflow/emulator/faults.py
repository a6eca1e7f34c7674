"""Fault injection at the boundaries the emulator owns: event sources, the invoke hook, boto3 and workers.

DESIGN §6 promises that duplicate and reordered deliveries, crashes between any two calls, throttling and
lost messages change nothing a workflow computes. A :class:`FaultProfile` names how often each fault
happens; a :class:`FaultInjector` makes them happen without a line of test code in the engine:

* **event sources** (:class:`~batonflow.emulator.event_sources.SqsPoller` asks :meth:`FaultInjector.arrange`
  and :meth:`FaultInjector.chance`): ``duplicate`` invokes the function a second time with the same batch
  (a redelivery), ``reorder`` shuffles a batch (on a FIFO queue only the order *of groups*, since SQS keeps
  the order within a group), ``crash_before_delete`` leaves a processed batch undeleted, so it comes back;
* **boto3**, with botocore hooks added to ``botocore.handlers.BUILTIN_HANDLERS`` (every client built after
  :meth:`FaultInjector.install` gets them), acting only inside event-driven invocations (SQS and schedules;
  the API's requests answer a client and are left alone): ``throttle`` answers a DynamoDB request with
  ``ProvisionedThroughputExceededException`` (the functions' standard retry mode retries it; several in a
  row fail the invocation and SQS redelivers), ``crash_after_write`` kills the invocation at an SQS send
  that follows a successful DynamoDB write in it, ``lost_timer`` answers a send to the timer queue with a
  fake success and sends nothing (the sweeper must notice). These answers stand in for a moto *server*;
  under moto's in-process ``mock_aws``, which answers in the same ``before-send`` event, botocore calls
  every handler and moto would still perform the request (``tests/functional/test_throttled_burst.py``
  wraps moto's handler instead);
* **workers** (SDK threads, named ``baton-sdk-*``): ``vanish`` hides a received task message from the
  worker, which therefore never runs nor reports it, as if it died holding it (the message reappears when
  its lease runs out); ``report_twice`` sends a results batch a second time; ``stale_result`` sends, when
  a task's next attempt is received, a ``COMPLETED`` result for the previous attempt with the output
  ``{"stale": true}``, which the engine must ignore.

Conditional-check races need no injector: they happen naturally, the API and several pollers writing the
same workflows at once. A crash is :class:`InjectedCrash`, a ``BaseException`` so that no ``except
Exception`` in a handler (Powertools' batch processor catches those per record) can swallow it; the invoke
hook turns it into :class:`InvocationCrashed`, which fails the whole batch, like a Lambda that died.

Rates are probabilities per occasion (per batch, per request attempt, per send, per message). Each
decision is a pure function of the seed, the fault kind and the occasion's *key* — what the fault would hit:
a batch's message bodies in the order received, a request's body, a message's body and receive count — and
how many times that key was seen before (so a request botocore retries with the same body, or a message
received again, gets a fresh draw). No shared random stream: threads racing change nothing about which
occasion gets which fault. What a seed reproduces therefore depends on the contents being the same: the
engine's ids are (task ids are name-based, and ``baton chaos`` starts its workflows with seeded idempotency
keys), but timestamps in request bodies, how SQS happens to group messages into batches and which thread
gets there first follow the clock; an occasion whose content differs draws differently.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

from batonflow.emulator.botocore_hooks import SessionHooks
from batonflow.emulator.lambda_runtime import Invocation, Invoker

FAULT_KINDS = (
    "duplicate",
    "reorder",
    "crash_before_delete",
    "crash_after_write",
    "throttle",
    "lost_timer",
    "vanish",
    "report_twice",
    "stale_result",
)
"""Every fault an injector knows, in the order reports list them."""

PRESETS: dict[str, dict[str, float]] = {
    "none": {},
    "default": {
        "duplicate": 0.05,
        "reorder": 0.2,
        "crash_before_delete": 0.02,
        "crash_after_write": 0.02,
        "throttle": 0.01,
        "lost_timer": 0.05,
        "vanish": 0.02,
        "report_twice": 0.05,
        "stale_result": 0.2,
    },
    "heavy": {
        "duplicate": 0.2,
        "reorder": 0.5,
        "crash_before_delete": 0.1,
        "crash_after_write": 0.1,
        "throttle": 0.1,
        "lost_timer": 0.2,
        "vanish": 0.1,
        "report_twice": 0.2,
        "stale_result": 0.5,
    },
}

FAULTS_ENV = "BATON_FAULTS"
SEED_ENV = "BATON_FAULTS_SEED"

_EVENT_DRIVEN = frozenset({"sqs", "schedule"})
_DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_SENDS = frozenset({"SendMessage", "SendMessageBatch"})
_THROTTLED = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "injected: the level of configured provisioned throughput for the table was exceeded",
    }
).encode()
_WORKER_THREADS = "baton-sdk"
_MAX_EVENTS = 200_000
_MAX_KEYS = 1_000_000
"""Distinct occasion keys remembered (a digest and a count each, ~100 bytes); past it the counts restart,
so a long-lived ``baton up --faults`` does not grow without bound."""

Key = str | Callable[[], str]
"""An occasion's key, or a function making it (called only when the fault's rate is not zero)."""


class FaultProfileError(ValueError):
    """A fault profile that does not parse."""


@dataclass(frozen=True)
class FaultProfile:
    """How often each fault happens (a probability per occasion, 0 to 1) and the generator's seed."""

    rates: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        for kind, rate in self.rates.items():
            if kind not in FAULT_KINDS:
                raise FaultProfileError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
            if not 0.0 <= rate <= 1.0:
                raise FaultProfileError(f"rate of {kind} must be between 0 and 1, not {rate}")

    @classmethod
    def parse(cls, text: str, *, seed: int = 0) -> FaultProfile:
        """``default``, ``heavy``, ``none``, ``duplicate=0.1,reorder=0.2``, or a preset then overrides
        (``default,throttle=0``)."""
        rates: dict[str, float] = {}
        for part in (piece.strip() for piece in text.split(",")):
            if not part:
                continue
            if "=" not in part:
                if part not in PRESETS:
                    raise FaultProfileError(f"unknown preset {part!r}; known: {', '.join(PRESETS)}")
                rates.update(PRESETS[part])
                continue
            kind, _, value = (piece.strip() for piece in part.partition("="))
            if kind not in FAULT_KINDS:
                raise FaultProfileError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
            try:
                rates[kind] = float(value)
            except ValueError as error:
                raise FaultProfileError(f"rate of {kind} is not a number: {value!r}") from error
        return cls({kind: rate for kind, rate in rates.items() if rate}, seed)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> FaultProfile | None:
        """The profile ``BATON_FAULTS`` names (seed from ``BATON_FAULTS_SEED``), or None when unset."""
        text = environ.get(FAULTS_ENV, "").strip()
        if not text:
            return None
        return cls.parse(text, seed=int(environ.get(SEED_ENV, "0") or 0))

    def rate(self, kind: str) -> float:
        return self.rates.get(kind, 0.0)

    def __str__(self) -> str:
        return (
            ",".join(f"{kind}={self.rates[kind]:g}" for kind in FAULT_KINDS if kind in self.rates) or "none"
        )


class InjectedCrash(BaseException):
    """Kills the invocation it is raised in; nothing in a handler may catch it."""


class InvocationCrashed(Exception):
    """What the invoke hook raises for an :class:`InjectedCrash`: the event source fails the batch."""


@dataclass(frozen=True)
class FaultEvent:
    at: float
    kind: str
    thread: str
    detail: str


@dataclass
class _Acting:
    """The invocation running on this thread, as far as the hooks care."""

    source: str
    wrote: bool = False


class FaultInjector(SessionHooks):
    """Draws faults from a profile and injects them; :attr:`injected` counts each kind that happened."""

    def __init__(self, profile: FaultProfile) -> None:
        self.profile = profile
        self.injected: Counter[str] = Counter()
        self.events: list[FaultEvent] = []
        """Each fault injected, with what it hit (the first :data:`_MAX_EVENTS`)."""
        self._seen: Counter[bytes] = Counter()
        """How often each (kind, key) occasion came up, by digest."""
        self._lock = threading.Lock()
        self._local = threading.local()
        self._timer_queue_url = ""
        self._results_queue_url = ""
        self._sqs: Any = None
        self._attempts: dict[tuple[str, str], tuple[int, str]] = {}
        """(workflow id, task reference) → (retry count, task id) of the latest attempt a worker received."""
        super().__init__(
            [
                ("before-parameter-build", self._remember_params),
                ("before-call", self._before_call),
                ("before-send", self._before_send),
                ("after-call", self._after_call),
            ]
        )

    # -- set-up -----------------------------------------------------------------------------------------

    def bind(self, *, sqs: Any, timer_queue_url: str, results_queue_url: str) -> None:
        """Tell the injector the stack's queues, and give it a client for the messages it forges."""
        self._sqs = sqs
        self._timer_queue_url = timer_queue_url
        self._results_queue_url = results_queue_url

    def snapshot(self) -> dict[str, int]:
        """Faults injected so far, by kind."""
        with self._lock:
            return {kind: self.injected[kind] for kind in FAULT_KINDS if self.injected[kind]}

    # -- drawing ----------------------------------------------------------------------------------------

    def decides(self, kind: str, key: str) -> bool:
        """Whether ``kind`` hits the occasion ``key``: a pure function of the seed, ``kind`` and ``key``
        (two injectors with the same profile decide alike), nothing counted."""
        return _uniform(self.profile.seed, kind, key) < self.profile.rate(kind)

    def chance(self, kind: str, key: Key) -> bool:
        """Whether ``kind`` happens on this occasion (see :meth:`occasion`)."""
        return self.occasion(kind, key) is not None

    def occasion(self, kind: str, key: Key) -> str | None:
        """The occasion's full key (``key`` and how many times it came up before) when ``kind`` happens
        on it, else None. Counted when it happens, and noted with ``key`` in :attr:`events`."""
        if self.profile.rate(kind) <= 0.0:
            return None
        text = key() if callable(key) else key
        digest = hashlib.blake2b(f"{kind}\x00{text}".encode(), digest_size=12).digest()
        with self._lock:
            if len(self._seen) >= _MAX_KEYS:
                self._seen.clear()
            self._seen[digest] += 1
            full = f"{text}\x00#{self._seen[digest]}"
        if not self.decides(kind, full):
            return None
        with self._lock:
            self.injected[kind] += 1
            if len(self.events) < _MAX_EVENTS:
                self.events.append(FaultEvent(time.time(), kind, threading.current_thread().name, text))
        return full

    def events_about(self, *needles: str) -> list[FaultEvent]:
        """The faults whose detail mentions any of ``needles`` (workflow ids, say)."""
        return [event for event in list(self.events) if any(n in event.detail for n in needles if n)]

    def arrange(self, messages: Sequence[dict[str, Any]], *, fifo: bool) -> list[dict[str, Any]]:
        """A received batch in the order to deliver it: maybe shuffled, FIFO groups keeping their order.
        The shuffle is seeded by the occasion, so the same batch is shuffled alike."""
        arranged = list(messages)
        if len(arranged) < 2:
            return arranged
        occasion = self.occasion("reorder", lambda: _messages_key(arranged))
        if occasion is None:
            return arranged
        shuffle = random.Random(f"{self.profile.seed}\x00reorder\x00{occasion}").shuffle
        if not fifo:
            shuffle(arranged)
            return arranged
        groups: dict[str, list[dict[str, Any]]] = {}
        for message in arranged:
            group = (message.get("Attributes") or {}).get("MessageGroupId", "")
            groups.setdefault(group, []).append(message)
        order = list(groups)
        shuffle(order)
        return [message for group in order for message in groups[group]]

    # -- the invoke hook ---------------------------------------------------------------------------------

    def invoker(self, inner: Invoker) -> Invoker:
        """Wrap the stack's invoker: mark the thread as acting for the call, turn a crash into a failure."""

        def invoke(call: Invocation) -> Any:
            previous = getattr(self._local, "acting", None)
            self._local.acting = _Acting(call.source) if call.source in _EVENT_DRIVEN else None
            try:
                return inner(call)
            except InjectedCrash as crash:
                raise InvocationCrashed(f"{call.function.logical_id}: {crash}") from None
            finally:
                self._local.acting = previous

        return invoke

    # -- botocore hooks ---------------------------------------------------------------------------------

    def _acting(self) -> _Acting | None:
        if getattr(self._local, "forging", False):
            return None
        return getattr(self._local, "acting", None)

    @staticmethod
    def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """Keep the call's parameters: the later events see only the serialized request."""
        context["baton_faults"] = params

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        params: dict[str, Any] = context.get("baton_faults") or {}
        acting = self._acting()
        if acting is None or model.service_model.endpoint_prefix != "sqs" or model.name not in _SENDS:
            return None
        if acting.wrote and self.chance("crash_after_write", lambda: _describe(model.name, params)):
            raise InjectedCrash(f"crash after a DynamoDB write, before {model.name}")
        if params.get("QueueUrl") == self._timer_queue_url and self.chance(
            "lost_timer", lambda: _describe(model.name, params)
        ):
            return AWSResponse(self._timer_queue_url, 200, {}, None), _fake_sent(model.name, params)
        return None

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        acting = self._acting()
        if acting is None or not _is_dynamodb(request):
            return None
        if not self.chance("throttle", lambda: f"{_target(request)} {_body(request)}"):
            return None
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(_THROTTLED))

    def _after_call(
        self, model: Any, parsed: dict[str, Any], http_response: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if getattr(self._local, "forging", False) or http_response.status_code >= 300:
            return
        params: dict[str, Any] = context.get("baton_faults") or {}
        service, operation = model.service_model.endpoint_prefix, model.name
        acting = getattr(self._local, "acting", None)
        if acting is not None:
            if service == "dynamodb" and operation in _DYNAMODB_WRITES:
                acting.wrote = True
            return
        if not threading.current_thread().name.startswith(_WORKER_THREADS) or service != "sqs":
            return
        if operation == "ReceiveMessage" and "-task-" in str(params.get("QueueUrl", "")):
            self._worker_received(parsed)
        elif (
            operation == "SendMessageBatch"
            and params.get("QueueUrl") == self._results_queue_url
            and parsed.get("Successful")
            and self.chance("report_twice", lambda: _describe(operation, params))
        ):
            sent = {entry["Id"] for entry in parsed["Successful"]}
            self._forge([e["MessageBody"] for e in params.get("Entries", []) if e["Id"] in sent])

    # -- workers ----------------------------------------------------------------------------------------

    def _worker_received(self, parsed: dict[str, Any]) -> None:
        messages = parsed.get("Messages") or []
        stale: list[str] = []
        for message in list(messages):
            if self.chance("vanish", lambda message=message: str(message.get("Body"))):
                messages.remove(message)
                continue
            try:
                body = json.loads(message["Body"])
                key = (body["workflowInstanceId"], body["referenceTaskName"])
                attempt, task_id = int(body.get("retryCount", 0)), body["taskId"]
            except (ValueError, KeyError, TypeError):
                continue
            with self._lock:
                previous = self._attempts.get(key)
                if previous is None or previous[0] < attempt:
                    self._attempts[key] = (attempt, task_id)
            if (
                previous is not None
                and previous[0] < attempt
                and self.chance("stale_result", lambda message=message: str(message.get("Body")))
            ):
                stale.append(
                    json.dumps(
                        {
                            "workflowInstanceId": key[0],
                            "taskId": previous[1],
                            "status": "COMPLETED",
                            "outputData": {"stale": True},
                            "workerId": "chaos-stale",
                        }
                    )
                )
        self._forge(stale)

    def _forge(self, bodies: Sequence[str]) -> None:
        """Send results no worker meant to send (duplicates, stale ones), outside every hook."""
        if not bodies or self._sqs is None:
            return
        with self._forging():
            for start in range(0, len(bodies), 10):
                entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
                self._sqs.send_message_batch(QueueUrl=self._results_queue_url, Entries=entries)

    @contextmanager
    def _forging(self) -> Iterator[None]:
        self._local.forging = True
        try:
            yield
        finally:
            self._local.forging = False


class _Raw:
    """The streaming body botocore reads an injected response from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _describe(operation: str, params: dict[str, Any]) -> str:
    """A send as an occasion key: what it sends, not where (queue URLs hold the endpoint's port, which
    changes from run to run)."""
    bodies = [params.get("MessageBody")] + [entry.get("MessageBody") for entry in params.get("Entries", [])]
    return f"{operation}: " + " | ".join(str(b) for b in bodies if b)


def _body(request: Any) -> str:
    body = getattr(request, "body", b"") or b""
    return body.decode(errors="replace") if isinstance(body, bytes) else str(body)


def _target(request: Any) -> str:
    target = (getattr(request, "headers", None) or {}).get("X-Amz-Target", b"")
    return target.decode() if isinstance(target, bytes) else str(target)


def _is_dynamodb(request: Any) -> bool:
    return _target(request).startswith("DynamoDB_")


def _messages_key(messages: Sequence[dict[str, Any]]) -> str:
    return " | ".join(str(message.get("Body")) for message in messages)


def _uniform(seed: int, kind: str, key: str) -> float:
    """A number in [0, 1) fixed by its arguments (the same in every process: no ``hash()``)."""
    digest = hashlib.blake2b(f"{seed}\x00{kind}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _fake_sent(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """What SQS answers to a send that succeeded, for a send that never happened."""

    def receipt(body: str) -> dict[str, str]:
        return {
            "MessageId": str(uuid.uuid4()),
            "MD5OfMessageBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        }

    if operation == "SendMessage":
        return receipt(str(params.get("MessageBody", "")))
    return {
        "Successful": [
            {"Id": entry["Id"], **receipt(str(entry.get("MessageBody", "")))}
            for entry in params.get("Entries", [])
        ],
        "Failed": [],
    }
