"""The engine: pure ``decide()`` (``engine.decider``) over a workflow's state (``engine.state``), the plan it
returns (``engine.plan``), and one operator module per task type (``engine.operators``)."""
