"""The base class of every Conductor JSON model, and the JSON rules it enforces.

Conductor's Jackson mapper (``common/config/ObjectMapperProvider.java``) fixes how its JSON looks, and
clients depend on every detail of it:

* **Input is lenient.** Unknown properties are ignored, and a ``null`` for a field that is not nullable
  gives that field its default. :meth:`ConductorModel._drop_nulls` drops such keys before validation,
  one C-level ``None in values()`` scan per object, so the common case (no nulls) costs almost nothing.
  Java's Jackson sets a primitive to ``0``/``false`` rather than to the field initialiser
  (``"retryCount": null`` gives 0 retries there, 3 here). We chose the initialiser: it is what a user
  who writes ``null`` means, and no known client sends ``null`` for a primitive.
  A model lists the keys whose explicit ``null`` must survive parsing in ``_keep_null`` (for example
  ``StartWorkflowRequest.input``, where ``null`` is a 400 and not ``{}``).
* **Output leaves out null bean fields but keeps null map values.** ``{"inputData": {"k": null}}`` must
  survive a round trip (Conductor's own tests check ``containsKey``). pydantic's ``exclude_none`` only
  applies to model fields, never to values inside a ``dict``/``list`` field, which is exactly that rule;
  ``tests/unit/test_model_base.py`` pins it so that a pydantic upgrade cannot silently change it.
* **Primitives are always written** (``0``, ``false``), so they are plain ``int``/``bool`` fields with a
  default; only Java's boxed fields (``Integer``, ``Boolean``, objects) are ``X | None = None``.
* Times are epoch milliseconds as ``int``; enums are their names.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

RARELY_USED = ConfigDict(defer_build=True)
"""``model_config`` of a model that most Lambda functions never touch (search rows, bulk and error bodies,
rarely called requests): its validator and serializer are built on first use instead of at import, so
only the API function, and only when it serves such a request, pays for them."""


def empty_list() -> list[Any]:
    """``Field(default_factory=empty_list)``: ``list`` for pydantic, cheaper to import.

    At class creation pydantic reads the signature of every ``default_factory``; for the builtin ``list``
    that means parsing its text signature (about 0.3 ms a field, some 7 ms over Baton's models on every
    Lambda cold start), for a Python function it is a lookup.
    """
    return []


class ConductorModel(BaseModel):
    """A Conductor JSON object: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    # Wire keys (and Python names) whose explicit null is kept instead of turning into the default.
    _keep_null: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict) and None in data.values():
            keep = cls._keep_null
            return {k: v for k, v in data.items() if v is not None or k in keep}
        return data

    @classmethod
    def from_conductor(cls, data: Any) -> Self:
        """Parse Conductor JSON (already decoded); raises ``pydantic.ValidationError`` on bad enums/types."""
        return cls.model_validate(data)

    def to_conductor(self) -> dict[str, Any]:
        """This object as Conductor writes it: camelCase keys, null fields left out, map nulls kept."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_conductor_json(self) -> str:
        """Same as :meth:`to_conductor`, encoded directly by pydantic-core (faster than ``json.dumps``)."""
        return self.model_dump_json(by_alias=True, exclude_none=True)
