"""Lambda entry points. Each module builds its adapters once per container and delegates to
``batonflow.service``; no business rule lives here."""
