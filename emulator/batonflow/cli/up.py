"""``baton up``: the whole stack in this process, from template.yaml, on an embedded moto server."""

from __future__ import annotations

import os
import signal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel

if TYPE_CHECKING:
    from batonflow.emulator.faults import FaultProfile

console = Console()


class LocalAuth(StrEnum):
    NONE = "none"
    KEY = "key"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


def up(
    port: Annotated[int, typer.Option(help="Port of the local API.")] = 8080,
    host: Annotated[
        str, typer.Option(help="Interface to bind; keep loopback unless you mean it.")
    ] = "127.0.0.1",
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="Use this AWS endpoint (LocalStack, another moto server) instead of an embedded one."
        ),
    ] = None,
    localstack: Annotated[
        bool,
        typer.Option(
            "--localstack",
            help="Use LocalStack as the endpoint: AWS_ENDPOINT_URL, else LOCALSTACK_HOST (host[:port]), "
            "else http://localhost:4566.",
        ),
    ] = False,
    region: Annotated[str, typer.Option(help="AWS region name for the local resources.")] = "us-east-1",
    stack_name: Annotated[str, typer.Option(help="Prefix of every resource name.")] = "baton-dev",
    api_concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            help="API requests served at once, each in its own sandbox process as on Lambda "
            "(1: in this process, one at a time).",
        ),
    ] = 4,
    log_level: Annotated[
        LogLevel,
        typer.Option(case_sensitive=False, help="Level of the functions' JSON log lines (LogLevel)."),
    ] = LogLevel.WARNING,
    metrics: Annotated[
        bool,
        typer.Option("--metrics", help="Print the functions' CloudWatch embedded-metric lines too."),
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Register an example workflow, run a worker and show it complete.")
    ] = False,
    auth: Annotated[
        LocalAuth,
        typer.Option(
            case_sensitive=False,
            help="none: the API is open. key: AuthMode=KEY as on AWS - clients trade an application key "
            "at POST /api/token for the token they send in X-Authorization; a key is generated and "
            "printed unless --api-key-id/--api-key-secret name one.",
        ),
    ] = LocalAuth.NONE,
    api_key_id: Annotated[
        str,
        typer.Option(
            envvar="BATON_API_KEY_ID",
            help="Run with --auth key and this application key id (with --api-key-secret).",
        ),
    ] = "",
    api_key_secret: Annotated[
        str,
        typer.Option(
            envvar="BATON_API_KEY_SECRET",
            show_default=False,
            help="Secret of --api-key-id (prefer the environment variable: arguments show in `ps`).",
        ),
    ] = "",
    faults: Annotated[
        str,
        typer.Option(
            envvar="BATON_FAULTS",
            help="Inject faults for testing: a preset (none, default, heavy) and/or rates, e.g. "
            "'default,throttle=0.1' or 'duplicate=0.1,lost_timer=0.05'.",
        ),
    ] = "",
    seed: Annotated[int, typer.Option(envvar="BATON_FAULTS_SEED", help="Seed of --faults.")] = 0,
) -> None:
    """Run Baton locally: API, decider, timers and sweeper, same handlers and template as on AWS."""
    from batonflow.emulator.stack import BatonStack

    profile = _fault_profile(faults, seed)
    if localstack and endpoint:
        raise typer.BadParameter("--localstack and --endpoint both name the endpoint; give one")
    if localstack:
        from batonflow.emulator.endpoints import localstack_endpoint

        endpoint = localstack_endpoint(os.environ)
    if bool(api_key_id) != bool(api_key_secret):
        raise typer.BadParameter("--api-key-id and --api-key-secret go together")
    if api_key_id:
        auth = LocalAuth.KEY
    if auth == LocalAuth.KEY and demo:
        raise typer.BadParameter("--demo's client has no API key; run it without --auth key")
    parameters = {"LogLevel": log_level.value}
    if auth == LocalAuth.KEY:
        parameters["AuthMode"] = "KEY"
    if not metrics:
        # the functions (and their sandbox processes) read it at import; on AWS the lines go to CloudWatch
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    _stop_on_signals()

    with console.status("Starting Baton (moto, tables, queues, handlers)..."):
        stack = BatonStack(
            host=host,
            port=port,
            endpoint_url=endpoint,
            region=region,
            stack_name=stack_name,
            api_concurrency=api_concurrency,
            parameters=parameters,
            faults=profile,
        )
        try:
            stack.start()
        except OSError as error:
            console.print(f"[red]Could not start:[/red] {error}")
            raise typer.Exit(1) from error
    try:
        key = _api_key(stack, api_key_id, api_key_secret) if auth == LocalAuth.KEY else None
        _print_banner(stack, key)
        if profile is not None:
            console.print(f"[yellow]Injecting faults:[/yellow] {profile} (seed {profile.seed})")
        if demo:
            from batonflow.cli.demo import run_demo

            run_demo(stack, console)
        console.print("Press [bold]Ctrl-C[/bold] to stop.")
        stack.wait()
    except KeyboardInterrupt:
        console.print("\nStopping...")
    finally:
        from batonflow.cli.demo import stop_demo_workers

        stop_demo_workers()
        stack.stop()
    console.print("Stopped.")


def _fault_profile(faults: str, seed: int) -> FaultProfile | None:
    from batonflow.emulator.faults import FaultProfile, FaultProfileError

    try:
        return FaultProfile.parse(faults, seed=seed) if faults else None
    except FaultProfileError as error:
        raise typer.BadParameter(str(error), param_hint="--faults") from error


def _interrupt(signum: int, frame: object) -> None:
    # the first signal stops the stack; another one, while it stops, must not cut the shutdown short and
    # leave its threads and sandbox processes running
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.SIG_IGN)
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop cleanly, even when started where SIGINT is ignored (``cmd &``)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)


def _sandboxes(stack) -> str:
    pools = [f"{pool.size} x {pool.name} (ready in {pool.startup_s:.1f} s)" for pool in stack.sandbox_pools]
    return f"[bold]Sandboxes[/bold]   {', '.join(pools)}\n" if pools else ""


def _api_key(stack, key_id: str, secret: str) -> tuple[str, str | None]:
    """The application key clients use: ``(id, secret)``, the secret only when generated here."""
    from batonflow.store.app_keys import AppKeyError

    try:
        created = stack.create_api_key(key_id or None, secret or None)
    except AppKeyError as error:
        console.print(f"[red]Could not set up the API key:[/red] {error}")
        raise typer.Exit(1) from error
    return created[0], None if key_id else created[1]


def _auth(key: tuple[str, str | None] | None) -> str:
    if key is None:
        return ""
    key_id, generated_secret = key
    secret = generated_secret or "<your secret>"
    shown = f" (secret shown once: {generated_secret})" if generated_secret else ""
    return (
        f"[bold]Auth[/bold]       API key {key_id}{shown}\n"
        f"            conductor-python: CONDUCTOR_AUTH_KEY={key_id} CONDUCTOR_AUTH_SECRET={secret}\n"
    )


def _print_banner(stack, key: tuple[str, str | None] | None = None) -> None:
    exports = "\n".join(
        f"export {name}={value}" for name, value in sorted(stack.worker_environment().items())
    )
    console.print(
        Panel.fit(
            f"[bold]API[/bold]        {stack.api_url}/api\n"
            f"[bold]AWS (local)[/bold] {stack.endpoint_url}  region {stack.region}\n"
            f"{_sandboxes(stack)}{_auth(key)}\n"
            f"Environment for workers (batonflow.sdk or conductor-python):\n{exports}",
            title="Baton is up",
        )
    )
