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

**Floors.** Next to each handler, the same child imports only what that handler loads of other packages
than Baton and the standard library (boto3, pydantic, Powertools..., as the handler's own import lists them
in ``sys.modules``, in the order they were loaded) and builds the clients every function builds at init
(``Runtime.from_env``): what the handler could not import in less time, whatever Baton's own modules did.
The figure the benchmark reports (``floor_ratio``) is the floor of its slowest handler, next to ``ratio``:
the difference is Baton's own share of that cold start.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from batonflow.infra.template import SERVERLESS_FUNCTION, load_template
from batonflow.service.runtime import CLIENT_RETRIES, INIT_CLIENTS

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
_LIBRARIES = (
    "import importlib, json, sys\n"
    "importlib.import_module(sys.argv[1])\n"
    "own = {'batonflow', '__main__', *sys.stdlib_module_names}\n"
    "print(json.dumps([name for name in sys.modules if name.partition('.')[0] not in own]))\n"
)
_FLOOR = (
    "import importlib, json, sys, time\n"
    "floor = json.loads(sys.stdin.read())\n"
    "started = time.perf_counter()\n"
    "for module in floor['modules']:\n"
    "    importlib.import_module(module)\n"
    "import boto3\n"
    "from botocore.config import Config\n"
    "session = boto3.session.Session()\n"
    "for service in floor['clients']:\n"
    "    session.client(service, config=Config(retries=floor['retries']))\n"
    "elapsed = time.perf_counter() - started\n"
    "if any(name.partition('.')[0] == 'batonflow' for name in sys.modules):\n"
    "    sys.exit('a floor must not import batonflow')\n"
    "print(repr(elapsed))\n"
)


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
    floors_s: dict[str, float]
    """Median seconds of each handler's floor: its libraries and init clients alone, by module name."""

    @property
    def slowest(self) -> str:
        return max(self.handlers_s, key=self.handlers_s.__getitem__)

    @property
    def ratio(self) -> float:
        """The slowest handler's import over ``import boto3``; the benchmark's target is at most 2."""
        return self.handlers_s[self.slowest] / self.boto3_s

    @property
    def floor_ratio(self) -> float:
        """The slowest handler's floor over ``import boto3``: the least ``ratio`` could be."""
        return self.floors_s[self.slowest] / self.boto3_s


def measure_cold_imports(repeats: int = 3) -> ColdImports:
    """Import boto3, every handler module and every handler's floor ``repeats`` times, each in a fresh
    interpreter."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    modules = ("boto3", *HANDLER_MODULES)
    _run(_WARM_UP, *modules)
    libraries = {module: libraries_of(module) for module in HANDLER_MODULES}
    samples: dict[str, list[float]] = {module: [] for module in modules}
    floor_samples: dict[str, list[float]] = {module: [] for module in HANDLER_MODULES}
    for _ in range(repeats):
        for module in modules:
            samples[module].append(import_seconds(module))
            if module in libraries:
                floor_samples[module].append(floor_seconds(libraries[module]))
    medians = {module: statistics.median(values) for module, values in samples.items()}
    boto3_s = medians.pop("boto3")
    floors = {module: statistics.median(values) for module, values in floor_samples.items()}
    return ColdImports(boto3_s=boto3_s, handlers_s=medians, floors_s=floors)


def child_environment() -> dict[str, str]:
    """What a measuring child runs with: :data:`HANDLER_ENVIRONMENT` and what it needs to find Python."""
    environment = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    environment.update(HANDLER_ENVIRONMENT)
    return environment


def import_seconds(module: str) -> float:
    """Seconds a fresh interpreter takes to import ``module`` (start-up excluded)."""
    return float(_run(_CHILD, module).strip().splitlines()[-1])


def libraries_of(module: str) -> list[str]:
    """The modules of other packages than Baton and the standard library that importing ``module`` loads,
    in the order they began loading."""
    return list(json.loads(_run(_LIBRARIES, module).strip().splitlines()[-1]))


def floor_seconds(libraries: list[str]) -> float:
    """Seconds a fresh interpreter takes to import ``libraries`` and build the clients of a function's
    init (start-up excluded)."""
    floor = {"modules": libraries, "clients": INIT_CLIENTS, "retries": CLIENT_RETRIES}
    return float(_run(_FLOOR, stdin=json.dumps(floor)).strip().splitlines()[-1])


def _run(code: str, *modules: str, stdin: str | None = None) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", code, *modules],
        env=child_environment(),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        what = ", ".join(modules) or "a floor"
        raise RuntimeError(f"importing {what} failed:\n{completed.stderr.strip()}")
    return completed.stdout
