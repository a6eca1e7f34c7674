"""Progress bars for the long local runs (``baton bench``, ``baton chaos``): one bar per phase, on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Advance = Callable[[str, int, int], None]
"""``advance(phase, done, total)``: what a runner reports; a phase's bar appears on its first report."""


@contextmanager
def phase_bars(*, label_width: int, transient: bool) -> Iterator[Advance]:
    """Bars on stderr, so a ``--json`` line on stdout stays alone; ``transient`` clears them at the end."""
    with Progress(
        TextColumn(f"{{task.description:<{label_width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=transient,
    ) as progress:
        bars: dict[str, int] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in bars:
                bars[phase] = progress.add_task(phase, total=total)
            progress.update(bars[phase], completed=done, total=total)

        yield advance
