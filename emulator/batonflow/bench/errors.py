"""What stops a benchmark run from producing honest numbers."""


class BenchError(RuntimeError):
    """A workflow failed or never finished, or the bare-call floor stalled: no figures are reported."""
