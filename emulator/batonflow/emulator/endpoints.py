"""Where ``baton up --localstack`` finds LocalStack: the conventions of the ``localstack-client`` package.

``AWS_ENDPOINT_URL`` wins (the variable boto3 itself honours), then ``LOCALSTACK_HOST`` (``host`` or
``host:port``, plain HTTP, port 4566 unless given), then ``http://localhost:4566``.
"""

from __future__ import annotations

from collections.abc import Mapping

LOCALSTACK_PORT = 4566


def localstack_endpoint(environ: Mapping[str, str]) -> str:
    explicit = environ.get("AWS_ENDPOINT_URL", "").strip()
    if explicit:
        return explicit.rstrip("/")
    host = environ.get("LOCALSTACK_HOST", "").strip() or "localhost"
    if host.startswith(("http://", "https://")):
        return host.rstrip("/")
    if ":" not in host.rpartition("]")[2]:
        host = f"{host}:{LOCALSTACK_PORT}"
    return f"http://{host}"
