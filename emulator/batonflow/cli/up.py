"""``baton up``: the whole stack in this process, from template.yaml, on an embedded moto server."""

from __future__ import annotations

import os
import signal
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

console = Console()


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
    api_key_id: Annotated[
        str,
        typer.Option(
            envvar="BATON_API_KEY_ID",
            help="Require an API key: conductor-python exchanges this id and --api-key-secret at "
            "POST /api/token for the token it sends in X-Authorization. Off when empty.",
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
) -> None:
    """Run Baton locally: API, decider, timers and sweeper, same handlers and template as on AWS."""
    from batonflow.emulator.stack import BatonStack

    if localstack and endpoint:
        raise typer.BadParameter("--localstack and --endpoint both name the endpoint; give one")
    if localstack:
        from batonflow.emulator.endpoints import localstack_endpoint

        endpoint = localstack_endpoint(os.environ)
    if bool(api_key_id) != bool(api_key_secret):
        raise typer.BadParameter("--api-key-id and --api-key-secret go together")
    if api_key_id and demo:
        raise typer.BadParameter("--demo's client has no API key; run it without --api-key-id")
    parameters = {"LogLevel": log_level.value}
    if api_key_id:
        parameters |= {"ApiKeyId": api_key_id, "ApiKeySecret": api_key_secret}
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
        )
        try:
            stack.start()
        except OSError as error:
            console.print(f"[red]Could not start:[/red] {error}")
            raise typer.Exit(1) from error
    try:
        _print_banner(stack, api_key_id)
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop cleanly, even when started where SIGINT is ignored (``cmd &``)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)


def _sandboxes(stack) -> str:
    pools = [f"{pool.size} x {pool.name} (ready in {pool.startup_s:.1f} s)" for pool in stack.sandbox_pools]
    return f"[bold]Sandboxes[/bold]   {', '.join(pools)}\n" if pools else ""


def _auth(api_key_id: str) -> str:
    if not api_key_id:
        return ""
    return (
        f"[bold]Auth[/bold]       API key {api_key_id}: conductor-python needs "
        f"CONDUCTOR_AUTH_KEY={api_key_id} and CONDUCTOR_AUTH_SECRET=<the secret>\n"
    )


def _print_banner(stack, api_key_id: str = "") -> None:
    exports = "\n".join(
        f"export {name}={value}" for name, value in sorted(stack.worker_environment().items())
    )
    console.print(
        Panel.fit(
            f"[bold]API[/bold]        {stack.api_url}/api\n"
            f"[bold]AWS (local)[/bold] {stack.endpoint_url}  region {stack.region}\n"
            f"{_sandboxes(stack)}{_auth(api_key_id)}\n"
            f"Environment for workers (batonflow.sdk or conductor-python):\n{exports}",
            title="Baton is up",
        )
    )
