"""JSON_JQ_TRANSFORM's jq (REFERENCE §4.14), on libjq through the ``jq`` package (prebuilt wheels).

Conductor runs the ``queryExpression`` with jackson-jq over the task's whole ``inputData`` (the query itself
included, so programs start with ``.someInput``) and stores every output: ``{result: first or null,
resultList: [all]}``. Callers pass that same document; a compile or runtime error is a ``JqError`` whose
message becomes the task's ``reasonForIncompletion`` and ``outputData.error``. libjq and jackson-jq agree on
the language but not on every builtin or error text.

Measured (Linux x86_64, Python 3.11): compiling costs ~1.1 ms, so programs are cached by query text; a cached
program runs a small query in ~7-15 µs. Compiled programs are safe to share between threads (the ``jq``
package hands each concurrent run its own jq state). Numbers come back as ``int`` when integral and within 64
bits, otherwise ``float`` (jackson-jq keeps an input ``1.0`` a double where libjq gives ``1``); ``nan``
becomes ``None`` and infinities the largest double, as jq prints them.

What libjq does not guard, and what we do about it:

* **The environment.** jq's ``$ENV`` and ``env`` read the process environment, which in a Lambda holds the
  function's AWS credentials. Every program runs behind a prelude that rebinds both to ``{}``. The prelude
  also makes ``import``/``include`` a syntax error (they must start a program), so no module or JSON file
  can be read from disk. The prelude is its own first line; error positions are shifted back to the query's.
* **Time.** libjq has no time limit and cannot be interrupted: ``last(range(1e15))`` or a catastrophic
  regex runs until the Lambda's own timeout (and holds the GIL meanwhile). Nothing cheap prevents that;
  workflow authors are trusted not to write such programs.
* **Output size.** Generators such as ``range(1e12)`` are cut off: more than ``MAX_RESULTS`` outputs is a
  ``JqError`` (jq produces them lazily, so we stop after one too many). A single huge output is not bounded.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

__all__ = ["MAX_RESULTS", "JqError", "transform"]

MAX_RESULTS: Final = 10_000
_PRELUDE: Final = "def env: {}; {} as $ENV |\n"
_PRELUDE_LINES: Final = _PRELUDE.count("\n")
_INT64: Final = range(-(2**63), 2**63)
_POSITION = re.compile(r"(at <top-level>, line )(\d+)")


class JqError(Exception):
    """A jq program failed to compile or to run; the message is jq's."""


def _compile_message(error: str) -> str:
    """``jq: error: ... at <top-level>, line N, column C:`` lines, shifted to the query's own line numbers."""
    messages = [line.rstrip(":") for line in error.splitlines() if line.startswith("jq: error")]
    message = "; ".join(messages) or error.strip()
    return _POSITION.sub(lambda match: f"{match[1]}{int(match[2]) - _PRELUDE_LINES}", message)


@lru_cache(maxsize=1024)
def _compile(query: str) -> Any:
    import jq  # only functions that run a JSON_JQ_TRANSFORM load libjq

    try:
        return jq.compile(_PRELUDE + query)
    except ValueError as error:
        raise JqError(_compile_message(str(error))) from None


def _plain(value: Any) -> Any:
    """jq's doubles as Conductor stores them: int within 64 bits, else float; nan -> None."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value in _INT64 else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else math.copysign(sys.float_info.max, value)
    return value


def transform(query: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``query`` over ``inputs``: ``{"result": first output or None, "resultList": [every output]}``.

    ``inputs`` is the jq input document (the task's whole ``inputData``) and must hold JSON values only.
    """
    program = _compile(query)
    try:
        outputs = list(itertools.islice(program.input_value(inputs), MAX_RESULTS + 1))
    except ValueError as error:
        raise JqError(str(error)) from None
    if len(outputs) > MAX_RESULTS:
        raise JqError(f"jq program produced more than {MAX_RESULTS} results")
    results = [_plain(output) for output in outputs]
    return {"result": results[0] if results else None, "resultList": results}
