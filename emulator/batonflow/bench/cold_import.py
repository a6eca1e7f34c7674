"""Cold import of every Lambda handler, relative to ``import boto3``.

A Lambda cold start pays for importing the handler module: its libraries, its models and the boto3 clients
it builds at import. ``import boto3`` is the floor every Python function on AWS pays, so the benchmark
reports the slowest handler against it (``ratio``) rather than in seconds, which depend on the machine.

Each number is one fresh ``sys.executable`` child that times the import itself with ``time.perf_counter``:
interpreter start-up is not counted, and nothing is cached from an earlier import. The children get the
environment a deployed function gets (the template's variables, with placeholder values) and fake
credentials, and nothing of this process's ``AWS_*`` settings: an endpoint override or a shared config file
would change what client creation does. Handlers, boto3 and the repeats are interleaved so that a slow
spell of the machine spreads over all of them instead of landing on one. One untimed child imports them
all first, so that every measured import reads bytecode (as boto3's does), never a just-edited source.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from batonflow.infra.template import SERVERLESS_FUNCTION, load_template

HANDLER_ENVIRONMENT: Mapping[str, str] = {
    "BATON_TABLE": "t",
    "BATON_QUEUE_PREFIX": "p",
    "BATON_DECIDER_QUEUE_URL": "http://x/q",
    "BATON_TIMER_QUEUE_URL": "http://x/t",
    "BATON_RESULTS_QUEUE_URL": "http://x/r",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
"""What a handler needs to import, as on Lambda: no config files, credentials from the environment."""

_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT")
"""What the child keeps of this process's environment: enough to find the interpreter and its packages."""

_CHILD = (
    "import importlib, sys, time\n"
    "started = time.perf_counter()\n"
    "importlib.import_module(sys.argv[1])\n"
    "print(repr(time.perf_counter() - started))\n"
)
_WARM_UP = "import importlib, sys\nfor module in sys.argv[1:]:\n    importlib.import_module(module)\n"


def _handler_modules() -> tuple[str, ...]:
    template = load_template()
    modules = (
        str(template.function_properties(name)["Handler"]).rpartition(".")[0]
        for name in template.resources_of_type(SERVERLESS_FUNCTION)
    )
    return tuple(dict.fromkeys(modules))


HANDLER_MODULES: tuple[str, ...] = _handler_modules()
"""The module of every function's ``Handler`` in template.yaml, in template order."""


@dataclass(frozen=True)
class ColdImports:
    boto3_s: float
    """Median seconds of ``import boto3``."""
    handlers_s: dict[str, float]
    """Median seconds of importing each handler module, by module name."""

    @property
    def ratio(self) -> float:
        """The slowest handler's import over ``import boto3``; the benchmark's target is at most 2."""
        return max(self.handlers_s.values()) / self.boto3_s


def measure_cold_imports(repeats: int = 3) -> ColdImports:
    """Import boto3 and every handler module ``repeats`` times, each in a fresh interpreter."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    modules = ("boto3", *HANDLER_MODULES)
    _run(_WARM_UP, *modules)
    samples: dict[str, list[float]] = {module: [] for module in modules}
    for _ in range(repeats):
        for module in modules:
            samples[module].append(import_seconds(module))
    medians = {module: statistics.median(values) for module, values in samples.items()}
    boto3_s = medians.pop("boto3")
    return ColdImports(boto3_s=boto3_s, handlers_s=medians)


def child_environment() -> dict[str, str]:
    """What a measuring child runs with: :data:`HANDLER_ENVIRONMENT` and what it needs to find Python."""
    environment = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    environment.update(HANDLER_ENVIRONMENT)
    return environment


def import_seconds(module: str) -> float:
    """Seconds a fresh interpreter takes to import ``module`` (start-up excluded)."""
    return float(_run(_CHILD, module).strip().splitlines()[-1])


def _run(code: str, *modules: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", code, *modules],
        env=child_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {', '.join(modules)} failed:\n{completed.stderr.strip()}")
    return completed.stdout
