"""The ``baton`` command line (typer + rich). Commands import what they need lazily, so ``baton --help``
stays fast."""
