"""Lambda entry points. Each module builds its adapters once per container and delegates to
``batonflow.service``; no business rule lives here.

**Cold start.** Importing a handler creates some 90,000 objects that live as long as the container: boto3's
service models and clients, pydantic's validators, the engine's tables. While they are being created the
cyclic garbage collector keeps traversing them, which costs 10-25 % of the import, and none of them is
garbage. So the collector is paused from the moment this package is imported, and every handler module ends
its initialisation with :func:`initialised`, which moves everything loaded so far to the permanent
generation (``gc.freeze``) and resumes collection. The traversals are not postponed to the first
invocation: frozen objects are never scanned again, so invocations are spared them too. The cost is that
the little cyclic garbage an import leaves behind is kept for the container's life.

Only the first handler a process imports does this (a Lambda container imports one); the emulator and the
tests, which import handlers again for every stack, then run with the collector as they had it.
"""

import gc

_paused = gc.isenabled()
if _paused:
    gc.disable()


def initialised() -> None:
    """End of a handler's initialisation: freeze what it loaded and resume garbage collection."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
