"""Conductor's REST API under ``/api``, as Powertools routers. ``app.build_app`` wires them together."""
