"""JavaScript for SWITCH, DO_WHILE, INLINE and LAMBDA (REFERENCE §4.0), on an embedded QuickJS.

Conductor runs these scripts on GraalJS with ``$`` bound to a deep copy of the input, a time limit and no host
access. We need the same inside a Lambda: a prebuilt wheel (nothing to compile), sub-millisecond evaluation,
a time limit that really stops ``for(;;){}`` and a memory limit. Measured on Linux x86_64, Python 3.11, with
the same bare harness (one reused context, a small ``$``):

=================  ==============  ===========  ================  ========================================
engine             per evaluation  new context  wheel / on disk   limits
=================  ==============  ===========  ================  ========================================
python-quickjs-ng  ~4 µs           ~0.2 ms      2.4 MB / 7.4 MB   time + memory, regexes interrupted too
quickjs (PetterS)  ~8 µs           ~0.15 ms     2.2 MB / 6.5 MB   time + memory, regexes never interrupted
mini-racer (V8)    ~250 µs         ~110 ms      22 MB / 82 MB     time + memory
dukpy              --              --           --                no time limit: rejected
=================  ==============  ===========  ================  ========================================

We use ``python-quickjs-ng``, the maintained quickjs-ng engine behind the same ``import quickjs`` API as
PetterS's package, which we first planned on: its 2021 engine never checks the time limit inside the regex
matcher, so ``/(a+)+$/.test('aaa…b')`` would hang the Lambda until its own timeout. quickjs-ng also ships
abi3 wheels for aarch64 (Graviton). Both packages install the module ``quickjs``: never have both installed.

Through this module: ``evaluate()`` of a comparison ~13 µs, of an IIFE ~16 µs; a 100 KB input ~3 ms, nearly
all of it ``json.dumps`` and ``JSON.parse``. Cold start: ~7 ms to import ``quickjs``, ~3.5 ms to build and
harden a thread's sandbox; both happen at the first evaluation, so a Lambda whose workflows run no script
never pays them. A time overrun raises QuickJS's uncatchable ``InternalError: interrupted`` (checked every
few thousand bytecodes and inside regexes): ``for(;;){}`` under a 50 ms limit stops after 50 ms and reads
``Script timed out after 50 ms, interrupted.``. An allocation past the 64 MB limit raises
``InternalError: out of memory`` (``Script exceeded the memory limit of 64 MB.``), within ~0.1 s for an
array-push loop; when QuickJS cannot even allocate that error it throws a bare ``null``, reported as such.

The time limit counts *process CPU time* (``clock()``): on Lambda (one thread) that is the script's own time;
in the threaded local emulator, scripts running at the same moment in other threads count too, so a limit
may trip early there, never late.

**One sandbox per thread, reused.** A QuickJS runtime must only ever be entered from the thread that created
it, so each thread gets its own (``threading.local``). Creating and hardening one costs ~3.5 ms, against
~13 µs for an evaluation in a reused one, so a sandbox lives for ``_EVALUATIONS_PER_SANDBOX`` evaluations
(bounding whatever a script may leave queued, such as promise jobs that never run) and is thrown away early
after any error (an interrupted or out-of-memory runtime is not worth trusting). Reuse must not let one
script see another's state, so at creation the sandbox is hardened:

* every built-in reachable from ``globalThis`` (and the iterator/generator prototypes that are not) is frozen,
  and the original globals become read-only: ``Array.prototype.x = 1`` or ``Math = 1`` changes nothing. The
  usual overrides still work on the script's own objects (``o.toString = f``, ``MyError.prototype.name =``),
  because those few inherited properties are accessors that define an own property instead of failing;
* the script is not run at top level but by a direct ``eval`` inside a function whose only parameter is
  ``$``: its ``var``/``let``/``function`` declarations live in that call and vanish with it, while the value
  is still the completion value of the last expression statement, as Conductor's;
* globals created by assignment (``x = 1``, ``this.y = 2``) are deleted after the evaluation; if one cannot
  be (``Object.defineProperty(globalThis, ...)``) the sandbox is replaced.

**Values cross as JSON.** ``$`` is rebuilt by ``JSON.parse`` from ``json.dumps(inputs)`` for every
evaluation (the deep copy Conductor makes) and the result comes back through ``JSON.stringify``: numbers
that are integral and fit in 64 bits become ``int``, other numbers ``float``; ``undefined`` becomes ``None``
(as do ``NaN`` and infinities, and object members that are ``undefined`` or functions disappear, as in
JSON).

**Errors** read as Conductor's: ``Error evaluating the script `TypeError: ...` at line 2``. The line is given
for errors in the script's top-level code only: QuickJS misplaces frames inside the script's own functions.

Conductor hands ``$`` to GraalJS as Java collections, so scripts in the wild call ``$.list.get(0)`` or
``$.list.size()``. Arrays here get non-enumerable ``get``, ``size``, ``isEmpty`` and ``contains`` for that;
Java ``Map`` methods are not emulated (``$.map.get('k')`` fails; ``$.map.k`` works in both).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from typing import Any, Final

from batonflow.engine.jsonpath import java_text

__all__ = ["ScriptError", "case_value", "evaluate", "evaluate_function_body", "truthy"]

DEFAULT_TIME_LIMIT_MS: Final = 4000  # Conductor's CONDUCTOR_SCRIPT_MAX_EXECUTION_SECONDS default
MEMORY_LIMIT_BYTES: Final = 64 * 1024 * 1024
# Expression scripts need little stack; staying well under the smallest thread stack we may run on keeps
# QuickJS's own guard (a clean "stack overflow" error) in front of a real overflow.
_STACK_LIMIT_BYTES: Final = 512 * 1024
_EVALUATIONS_PER_SANDBOX: Final = 10_000
_INT64: Final = range(-(2**63), 2**63)
_EXACT: Final = range(-(2**53), 2**53 + 1)
# A stack frame of QuickJS: "at <input>:3:5" (a syntax error) or "at name (<input>:3:5)".
_FRAME = re.compile(r"^\s*at (?:(\S+) \()?<input>:(\d+)", re.MULTILINE)

# Evaluated at top level so that the script's direct eval sees no variable of ours: only `$` and `arguments`.
_SCOPE_JS: Final = "(function ($) { return eval(arguments[1]); })"

# Hardens the fresh realm once and returns run(source, inputJson) -> "1<json>" when the realm is still clean
# afterwards, "0<json>" when the caller must replace it. Our functions are named __baton* so that error
# locations (_FRAME) can skip their stack frames and report the script's own line.
_SETUP_JS: Final = r"""
(function (scope) {
  "use strict";
  const global = globalThis, parse = JSON.parse, stringify = JSON.stringify;
  const ownKeys = Reflect.ownKeys, getPrototypeOf = Object.getPrototypeOf, isExtensible = Object.isExtensible;
  const defineProperty = Object.defineProperty, describe = Object.getOwnPropertyDescriptor;
  const deleteProperty = Reflect.deleteProperty;

  function javaList(name, method) {
    defineProperty(Array.prototype, name, {value: method, writable: true, configurable: true});
  }
  javaList("get", function __batonGet(index) {
    if (index >= 0 && index < this.length) return this[index];
    throw new RangeError("Index " + index + " out of bounds for length " + this.length);
  });
  javaList("size", function __batonSize() { return this.length; });
  javaList("isEmpty", function __batonIsEmpty() { return this.length === 0; });
  javaList("contains", function __batonContains(item) { return this.includes(item); });

  // A frozen prototype makes `obj.toString = f` fail silently on every object inheriting from it (the
  // "override mistake"); turning these data properties into accessors lets the assignment define an own
  // property on the object instead.
  function allowOverride(proto, key) {
    const desc = describe(proto, key);
    if (!desc || !("value" in desc) || !desc.configurable) return;
    const value = desc.value;
    defineProperty(proto, key, {
      get() { return value; },
      set: function __batonOverride(newValue) {
        if (this !== proto && Object(this) === this) {
          const own = {value: newValue, writable: true, enumerable: true, configurable: true};
          Reflect.defineProperty(this, key, own);
        }
      },
      enumerable: desc.enumerable,
      configurable: false,
    });
  }
  const errors = [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError];
  for (const key of ownKeys(Object.prototype)) allowOverride(Object.prototype, key);
  for (const key of ["get", "size", "isEmpty", "contains"]) allowOverride(Array.prototype, key);
  for (const key of ["constructor", "toString"]) allowOverride(Function.prototype, key);
  for (const error of errors) {
    for (const key of ["constructor", "name", "message", "toString"]) allowOverride(error.prototype, key);
  }

  const frozen = new WeakSet();
  function harden(value) {
    if (Object(value) !== value || frozen.has(value)) return;
    frozen.add(value);
    Object.freeze(value);
    harden(getPrototypeOf(value));
    for (const key of ownKeys(value)) {
      const desc = describe(value, key);
      harden(desc.value);
      harden(desc.get);
      harden(desc.set);
    }
  }
  for (const key of ownKeys(global)) {
    if (key === "globalThis") continue;
    harden(global[key]);
    defineProperty(global, key, {writable: false, configurable: false});
  }
  // Intrinsics no global property leads to.
  for (const sample of [
    [][Symbol.iterator](), ""[Symbol.iterator](), new Map().entries(), new Set().values(),
    /./[Symbol.matchAll](""), function* () {}, (function* () {})(), async function () {},
    async function* () {}, (async function* () {})(), scope, __batonRun,
  ]) harden(sample);

  const baseline = new Set(ownKeys(global));
  const globalPrototype = getPrototypeOf(global);
  function sweep() {
    const keys = ownKeys(global);
    let clean = isExtensible(global) && getPrototypeOf(global) === globalPrototype;
    if (keys.length !== baseline.size) {
      for (const key of keys) {
        if (!baseline.has(key) && !deleteProperty(global, key)) clean = false;
      }
    }
    return clean;
  }
  function __batonRun(source, inputJson) {
    const text = stringify(scope(parse(inputJson), source));
    return (sweep() ? "1" : "0") + (text === undefined ? "null" : text);
  }
  return __batonRun;
})
"""


class ScriptError(Exception):
    """A script failed: syntax, runtime error, time or memory limit. The message is the task's reason."""


class _Sandbox:
    """One hardened QuickJS runtime; only ever used from the thread that created it."""

    def __init__(self) -> None:
        import quickjs  # by the first script only: see the module docstring

        self._context = quickjs.Context()
        self._context.set_memory_limit(MEMORY_LIMIT_BYTES)
        self._context.set_max_stack_size(_STACK_LIMIT_BYTES)
        self._run = self._context.eval(_SETUP_JS)(self._context.eval(_SCOPE_JS))
        self.evaluations = 0

    def run(self, source: str, input_json: str, time_limit_ms: int) -> tuple[bool, str]:
        """Returns (realm still clean, result JSON); raises what QuickJS raises."""
        self.evaluations += 1
        self._context.set_time_limit(time_limit_ms / 1000)
        output = self._run(source, input_json)
        return output[0] == "1", output[1:]


_local = threading.local()


def _sandbox() -> _Sandbox:
    sandbox: _Sandbox | None = getattr(_local, "sandbox", None)
    if sandbox is None:
        sandbox = _local.sandbox = _Sandbox()
    return sandbox


def _number(text: str) -> int | float:
    """An integral JSON number from JS. Past 2**53 its text is rounded; the double it came from is exact."""
    number = int(text)
    if number not in _EXACT:
        number = int(float(text))
    return number if number in _INT64 else float(number)


_RESULT: Final = json.JSONDecoder(parse_int=_number)


def _fail(error: Exception, time_limit_ms: int) -> ScriptError:
    lines = str(error).splitlines() or [type(error).__name__]
    message = lines[0]
    if message == "InternalError: interrupted":
        return ScriptError(f"Script timed out after {time_limit_ms} ms, interrupted.")
    limit = f"the memory limit of {MEMORY_LIMIT_BYTES // 2**20} MB"
    if message == "InternalError: out of memory":
        return ScriptError(f"Script exceeded {limit}.")
    if message == "null" and len(lines) == 1:
        # QuickJS throws a bare null when it cannot even allocate the out-of-memory error.
        return ScriptError(f"Script failed with null: it threw null or exceeded {limit}.")
    frames = (f for f in _FRAME.finditer("\n".join(lines[1:])) if not (f[1] or "").startswith("__baton"))
    innermost = next(frames, None)
    where = ""
    # QuickJS places frames of functions declared by the script at 1:1; only top-level positions are right.
    if innermost is not None and innermost[1] in (None, "<eval>"):
        where = f" at line {innermost[2]}"
    return ScriptError(f"Error evaluating the script `{message}`{where}")


def evaluate(
    expression: str, inputs: Mapping[str, Any], *, time_limit_ms: int = DEFAULT_TIME_LIMIT_MS
) -> Any:
    """The value of ``expression``'s last expression statement, with ``$`` bound to a copy of ``inputs``.

    ``inputs`` must hold JSON values only. Raises ``ScriptError`` for anything the script does wrong.
    """
    if time_limit_ms <= 0:
        raise ValueError(f"time_limit_ms must be positive, not {time_limit_ms}")
    if not expression.isascii():
        try:
            expression.encode()
        except UnicodeEncodeError:  # the binding cannot hand QuickJS a lone surrogate
            raise ScriptError("Error evaluating the script `SyntaxError: lone surrogate in source`") from None
    import quickjs  # for JSException; loaded once, by the first _Sandbox

    input_json = json.dumps(inputs)
    sandbox = _sandbox()
    try:
        clean, output = sandbox.run(expression, input_json, time_limit_ms)
    except quickjs.JSException as error:  # StackOverflow is one too
        _local.sandbox = None
        raise _fail(error, time_limit_ms) from None
    if not clean or sandbox.evaluations >= _EVALUATIONS_PER_SANDBOX:
        _local.sandbox = None
    return _RESULT.decode(output)


def evaluate_function_body(
    body: str, inputs: Mapping[str, Any], *, time_limit_ms: int = DEFAULT_TIME_LIMIT_MS
) -> Any:
    """Legacy LAMBDA: ``body`` is a function body and its ``return`` value is the result.

    Wrapped as Conductor does (``function scriptFun(){ body } scriptFun();``), with a line break before the
    closing brace so a trailing ``// comment`` cannot swallow it; line numbers in errors stay the body's.
    """
    return evaluate(f"function scriptFun(){{{body}\n}} scriptFun();", inputs, time_limit_ms=time_limit_ms)


def truthy(value: Any) -> bool:
    """Conductor's ``ScriptEvaluator.toBoolean``: a bool as is, a number when > 0, anything else False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0  # False for NaN, as in Java
    return False


def case_value(value: Any) -> str:
    """Java's ``String.valueOf`` of an evaluation result, used as a SWITCH/DECISION case key."""
    return java_text(value)
