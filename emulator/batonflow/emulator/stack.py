"""The whole Baton stack in one process: what ``baton up`` runs and what the e2e fixtures start.

:class:`BatonStack` reads ``template.yaml`` and nothing else about resources:

1. starts an embedded moto server on loopback, unless ``endpoint_url`` names one (LocalStack, a second
   moto server: "LocalStack mode" is just ``BatonStack(endpoint_url="http://localhost:4566")``);
2. provisions the template's tables, queues and buckets there (:func:`batonflow.infra.provision`);
3. puts the functions' resolved environment, plus ``AWS_ENDPOINT_URL``, the region and dummy credentials,
   into ``os.environ`` *before* importing any handler, because handlers build clients at import;
4. imports each function's ``Handler`` (or takes an override from ``handlers``); with
   ``api_concurrency=N`` > 1, the HttpApi function instead runs in N sandbox processes started here
   (:class:`~batonflow.emulator.sandboxes.SandboxPool`), each importing it under the same environment,
   so N API requests run at once as in N Lambda execution environments; likewise a queue-triggered
   function given ``concurrency`` N > 1 runs in N sandboxes, fed by N pollers, so its invocations use
   more than this process's one interpreter lock (a callable override stays in-process, one invocation
   at a time; ``sandbox_probe`` watches what the sandboxes' handlers do);
5. serves the HttpApi routes over HTTP, runs one poller per SQS event, one reader per DynamoDB stream
   event and one thread per schedule;
6. emulates DynamoDB TTL, which moto lacks: a thread per table with a ``TimeToLiveSpecification`` deletes
   its expired items every ``ttl_sweep_interval_s`` (a minute by default; :meth:`BatonStack.expire` runs
   it once), and the deletions reach the table's stream as on AWS.

Every handler call goes through one :data:`~batonflow.emulator.lambda_runtime.Invoker` (``invoke=``), the
seam for call counting and fault injection. Tests that want no background threads pass
``start_pollers=False`` and call :meth:`BatonStack.pump`, or drive :attr:`BatonStack.gateway` without a
socket (``serve_http=False``).

One process means one ``os.environ``: two functions that need different values for one variable cannot
both be emulated faithfully, so that raises :class:`EnvironmentConflictError` instead of silently picking
one. The environment is restored on :meth:`BatonStack.stop`. Handler modules are imported once per
environment: a stack started under a different environment than the one a handler module was imported
under re-imports that module (only that module), like a fresh Lambda sandbox would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from batonflow.emulator.dynamodb_streams import StreamPoller, StreamSource
from batonflow.emulator.environment import (
    WORKER_VARIABLES,
    EnvironPatch,
    aws_environment,
    fingerprint,
    shared_environment,
)
from batonflow.emulator.errors import EmulatorError
from batonflow.emulator.event_sources import SqsPoller, SqsSource
from batonflow.emulator.faults import FaultInjector, FaultProfile
from batonflow.emulator.gateway import LocalGateway, routes_from
from batonflow.emulator.http_server import GatewayServer
from batonflow.emulator.lambda_runtime import (
    Clock,
    Handler,
    Invoker,
    LocalFunction,
    direct_invoke,
    load_handler,
)
from batonflow.emulator.moto_server import DEFAULT_HOST, MotoServer
from batonflow.emulator.sandboxes import SandboxPool, SandboxProbe
from batonflow.emulator.schedules import ScheduleRunner
from batonflow.emulator.ttl import TtlSweeper
from batonflow.infra import (
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    AwsClients,
    DynamoDbEvent,
    FunctionSpec,
    HttpApiEvent,
    Physical,
    ProvisionedStack,
    ScheduleEvent,
    SqsEvent,
    Template,
    load_template,
    local_session,
    provision,
)

LOCAL_PARAMETERS = {"AuthMode": "NONE", "OpenApiAcknowledgement": "I understand anyone can run workflows"}
"""Template parameters a local stack starts with unless given: the API is open, as ``baton up`` promises
(it listens on loopback); the template's default, for AWS, is ``KEY``."""
logger = logging.getLogger(__name__)

_JOIN_TIMEOUT_S = 30
_TABLE = "AWS::DynamoDB::Table"


class BatonStack:
    """Context manager running the template's functions against a local AWS endpoint.

    >>> with BatonStack(port=8080) as stack:     # doctest: +SKIP
    ...     requests.get(f"{stack.api_url}/health")
    """

    def __init__(
        self,
        *,
        template: Template | str | Path | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        endpoint_url: str | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
        moto_port: int = 0,
        parameters: Mapping[str, Any] | None = None,
        handlers: Mapping[str, Handler | str] | None = None,
        invoke: Invoker = direct_invoke,
        concurrency: int | Mapping[str, int] = 1,
        api_concurrency: int = 1,
        schedule_interval_s: float | None = None,
        ttl_sweep_interval_s: float = 60.0,
        failure_backoff_s: int = 1,
        serve_http: bool = True,
        start_pollers: bool = True,
        start_schedules: bool = True,
        clock: Clock = time.time,
        faults: FaultProfile | None = None,
        sandbox_probe: SandboxProbe | None = None,
    ) -> None:
        """``faults``: inject the faults of this profile (:mod:`batonflow.emulator.faults`); the injector,
        with its counts, is :attr:`faults`. ``concurrency``: pollers per SQS event, for every function or
        by logical id; above 1, that function runs in as many sandbox processes."""
        self.template = template if isinstance(template, Template) else load_template(template)
        self.stack_name = stack_name
        self.region = region
        self._external_endpoint = endpoint_url
        self._host = host
        self._port = port
        self._moto_port = moto_port
        self._parameters = {**LOCAL_PARAMETERS, **(parameters or {})}
        self._handler_overrides = dict(handlers or {})
        self.faults = FaultInjector(faults) if faults is not None else None
        self._invoker = self.faults.invoker(invoke) if self.faults is not None else invoke
        self._concurrency = concurrency
        if api_concurrency < 1:
            raise ValueError(f"api_concurrency must be at least 1, not {api_concurrency}")
        self._api_concurrency = api_concurrency
        self._sandbox_probe = sandbox_probe
        self._schedule_interval_s = schedule_interval_s
        self._ttl_sweep_interval_s = ttl_sweep_interval_s
        self._failure_backoff_s = failure_backoff_s
        self._serve_http = serve_http
        self._start_pollers = start_pollers
        self._start_schedules = start_schedules
        self._clock = clock
        self._moto: MotoServer | None = None
        self._http: GatewayServer | None = None
        self._environ = EnvironPatch()
        self._stopped = threading.Event()
        self.endpoint_url: str | None = None
        self.provisioned: ProvisionedStack | None = None
        self.environment: dict[str, str] = {}
        self.functions: dict[str, LocalFunction] = {}
        self.gateway: LocalGateway | None = None
        self.pollers: list[SqsPoller] = []
        self.schedules: list[ScheduleRunner] = []
        self.streams: list[StreamPoller] = []
        self.ttl_sweepers: list[TtlSweeper] = []
        self.sandbox_pools: list[SandboxPool] = []

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> BatonStack:
        """Bring everything up; on failure, tear down what was started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving and polling, join every thread and sandbox process, restore ``os.environ``, stop the
        embedded server. Sandboxes go first: a request still running in one fails, so no HTTP thread waits
        for a long one (a sync execute) to finish."""
        workers = [*self.pollers, *self.streams, *self.schedules, *self.ttl_sweepers]
        for worker in workers:
            worker.stop()
        for pool in self.sandbox_pools:
            pool.stop()
        if self._http is not None:
            self._http.stop()
            self._http = None
        for worker in workers:
            worker.join(_JOIN_TIMEOUT_S)
        self._environ.restore()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self.faults is not None:
            self.faults.uninstall()
        self._stopped.set()

    def wait(self) -> None:
        """Block until :meth:`stop` is called from another thread; Ctrl-C raises ``KeyboardInterrupt``."""
        while not self._stopped.wait(0.5):
            pass

    def __enter__(self) -> BatonStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what callers use ------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Base URL of the HTTP API, e.g. ``http://127.0.0.1:8080`` (the Conductor API is under ``/api``)."""
        if self._http is None:
            raise EmulatorError("the stack does not serve HTTP (not started, or serve_http=False)")
        return self._http.url

    @property
    def resources(self) -> Mapping[str, Physical]:
        """Logical id → physical resource (``.ref`` is a table name, queue URL or bucket name)."""
        return self._provisioned().resources

    def create_api_key(self, key_id: str | None = None, secret: str | None = None) -> tuple[str, str]:
        """An application key for ``AuthMode=KEY``: generated unless given, reused if stored with this
        secret already. Returns ``(key id, secret)``."""
        from batonflow.store.app_keys import AppKeyStore

        clients = AwsClients.for_endpoint(self.endpoint_url, region=self.region)
        keys = AppKeyStore(clients.dynamodb, str(self.resources["BatonTable"].ref))
        now = int(self._clock() * 1000)
        if key_id and secret:
            keys.ensure(now, key_id, secret)
            return key_id, secret
        return keys.create(now, key_id, secret)

    def worker_environment(self) -> dict[str, str]:
        """Variables for a worker process (``batonflow.sdk`` or conductor-python) to reach this stack."""
        env = {
            **self._aws_environment(),
            **{name: self.environment[name] for name in WORKER_VARIABLES if name in self.environment},
        }
        if self._http is not None:
            env["CONDUCTOR_SERVER_URL"] = f"{self.api_url}/api"
        return env

    def pump(self, *, max_rounds: int = 1000) -> int:
        """Run every SQS and stream event source in this thread until a whole round receives nothing.

        For deterministic tests with ``start_pollers=False``: no threads, no waiting. Messages sent with a
        delay (timers) are not visible yet and so do not keep the pump going. Returns messages delivered.
        """
        delivered = 0
        for _ in range(max_rounds):
            received = sum(poller.poll_once(wait_s=0) for poller in [*self.pollers, *self.streams])
            if received == 0:
                return delivered
            delivered += received
        raise EmulatorError(f"queues still busy after {max_rounds} rounds (a message failing forever?)")

    def expire(self, now_s: float | None = None) -> int:
        """Run the TTL emulation once now (or as of ``now_s``); returns the items deleted."""
        return sum(sweeper.sweep(now_s) for sweeper in self.ttl_sweepers)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a function directly (through the invoke hook), as ``aws lambda invoke`` would."""
        return self.functions[logical_id].invoke(event)

    def client(self, service: str) -> Any:
        """A boto3 client for this stack's endpoint and region."""
        return local_session(self.region).client(service, endpoint_url=self.endpoint_url)

    # -- internals -------------------------------------------------------------------------------------

    def _start(self) -> None:
        self._stopped.clear()
        self.functions, self.pollers, self.schedules, self.streams, self.ttl_sweepers = {}, [], [], [], []
        self.sandbox_pools = []
        if self.faults is not None:
            self.faults.install()  # before the handlers build their clients at import
        if self._external_endpoint is None:
            self._moto = MotoServer(DEFAULT_HOST, self._moto_port)
            self.endpoint_url = self._moto.start()
        else:
            self.endpoint_url = self._external_endpoint
        clients = AwsClients.for_endpoint(self.endpoint_url, region=self.region)
        self.provisioned = provision(
            self.template,
            session_or_clients=clients,
            endpoint_url=self.endpoint_url,
            stack_name=self.stack_name,
            region=self.region,
            parameters=self._parameters,
        )
        if self.faults is not None:
            self.faults.bind(
                sqs=clients.sqs,
                timer_queue_url=str(self.resources["TimerQueue"].ref),
                results_queue_url=str(self.resources["ResultsQueue"].ref),
            )
        self.environment = shared_environment(self.provisioned.functions)
        variables = {**self.environment, **self._aws_environment()}
        self._environ.apply(variables)
        imported_under = fingerprint(variables)
        for spec in self.provisioned.functions:
            handler, concurrency = self._handler(spec, imported_under, variables)
            self.functions[spec.logical_id] = LocalFunction(
                spec,
                handler,
                arn=self.resources[spec.logical_id].attributes["Arn"],
                invoker=self._invoker,
                clock=self._clock,
                concurrency=concurrency,
            )
        self._build_gateway()
        self._build_pollers(clients.sqs)
        self._build_streams()
        self._build_schedules()
        self._build_ttl_sweepers(clients.dynamodb)
        if self._serve_http:
            self._http = GatewayServer(self._gateway(), self._host, self._port)
            self._http.start()
        if self._start_pollers:
            for poller in [*self.pollers, *self.streams]:
                poller.start()
        if self._start_schedules:
            for schedule in [*self.schedules, *self.ttl_sweepers]:
                schedule.start()
        logger.info(
            "stack %s up: endpoint %s, api %s", self.stack_name, self.endpoint_url, self._api_or_none()
        )

    def _handler(
        self, spec: FunctionSpec, environment_fingerprint: str, variables: Mapping[str, str]
    ) -> tuple[Handler, int]:
        """The function's handler and how many invocations of it may run at once."""
        override = self._handler_overrides.get(spec.logical_id)
        if override is not None and not isinstance(override, str):
            return override, 1
        path = override or spec.handler
        if spec.events_of(HttpApiEvent):
            size = self._api_concurrency
        else:
            size = self._concurrency_of(spec.logical_id) if spec.events_of(SqsEvent) else 1
        if size > 1:
            pool = SandboxPool(
                path, variables, size=size, name=spec.logical_id, probe=self._sandbox_probe
            ).start()
            self.sandbox_pools.append(pool)
            return pool, pool.size
        return load_handler(path, environment_fingerprint), 1

    def _build_gateway(self) -> None:
        specs = self._provisioned().functions
        api_ids = [event.api_logical_id for spec in specs for event in spec.events_of(HttpApiEvent)]
        api = self.resources.get(api_ids[0]) if api_ids else None
        self.gateway = LocalGateway(
            routes_from(specs),
            {name: partial(function.invoke, source="http") for name, function in self.functions.items()},
            api_id=api.ref if api is not None else "local",
            account_id=self._provisioned().context.account_id,
            clock=self._clock,
        )

    def _build_pollers(self, sqs: Any) -> None:
        for spec in self._provisioned().functions:
            count = self._concurrency_of(spec.logical_id)
            for event in spec.events_of(SqsEvent):
                if not event.enabled:
                    continue
                queue = self.resources[event.queue_logical_id]
                source = SqsSource(
                    function=spec.logical_id,
                    queue_url=queue.ref,
                    queue_arn=queue.attributes["Arn"],
                    region=self.region,
                    batch_size=event.batch_size,
                    report_batch_item_failures=event.report_batch_item_failures,
                )
                invoke = partial(self.functions[spec.logical_id].invoke, source="sqs")
                self.pollers.extend(
                    SqsPoller(
                        source,
                        sqs,
                        invoke,
                        failure_backoff_s=self._failure_backoff_s,
                        name=f"sqs-{spec.logical_id}-{index}",
                        faults=self.faults,
                    )
                    for index in range(count)
                )

    def _build_streams(self) -> None:
        streams = self.client("dynamodbstreams")
        for spec in self._provisioned().functions:
            for event in spec.events_of(DynamoDbEvent):
                if not event.enabled:
                    continue
                source = StreamSource(
                    function=spec.logical_id,
                    stream_arn=self.resources[event.table_logical_id].attributes["StreamArn"],
                    region=self.region,
                    starting_position=event.starting_position,
                    batch_size=event.batch_size,
                    report_batch_item_failures=event.report_batch_item_failures,
                    filters=event.filters,
                )
                invoke = partial(self.functions[spec.logical_id].invoke, source="dynamodb")
                self.streams.append(
                    StreamPoller(
                        source,
                        streams,
                        invoke,
                        failure_backoff_s=self._failure_backoff_s,
                        name=f"stream-{spec.logical_id}-{event.name}",
                    )
                )

    def _build_ttl_sweepers(self, dynamodb: Any) -> None:
        resolver = self._provisioned().resolver()
        for logical_id, resource in self.template.resources_of_type(_TABLE).items():
            if logical_id not in self.resources:
                continue  # its Condition is false
            ttl = resolver.resolve((resource.get("Properties") or {}).get("TimeToLiveSpecification") or {})
            if not ttl.get("Enabled"):
                continue
            self.ttl_sweepers.append(
                TtlSweeper(
                    dynamodb,
                    self.resources[logical_id].ref,
                    ttl["AttributeName"],
                    interval_s=self._ttl_sweep_interval_s,
                    clock=self._clock,
                )
            )

    def _concurrency_of(self, logical_id: str) -> int:
        if isinstance(self._concurrency, int):
            return self._concurrency
        return self._concurrency.get(logical_id, 1)

    def _build_schedules(self) -> None:
        context = self._provisioned().context
        for spec in self._provisioned().functions:
            for event in spec.events_of(ScheduleEvent):
                if not event.enabled:
                    continue
                arn_prefix = f"arn:{context.partition}:events:{self.region}:{context.account_id}"
                rule = f"{arn_prefix}:rule/{spec.function_name}-{event.name}"
                self.schedules.append(
                    ScheduleRunner(
                        partial(self.functions[spec.logical_id].invoke, source="schedule"),
                        interval_s=self._schedule_interval_s or event.rate_seconds,
                        rule_arn=rule,
                        region=self.region,
                        account_id=context.account_id,
                        input=event.input,
                        clock=self._clock,
                    )
                )

    def _aws_environment(self) -> dict[str, str]:
        return aws_environment(self.endpoint_url or "", self.region)

    def _provisioned(self) -> ProvisionedStack:
        if self.provisioned is None:
            raise EmulatorError("the stack is not started")
        return self.provisioned

    def _gateway(self) -> LocalGateway:
        if self.gateway is None:
            raise EmulatorError("the stack is not started")
        return self.gateway

    def _api_or_none(self) -> str | None:
        return self._http.url if self._http is not None else None
