"""Workflow and task definitions, all in the ``DEFS`` partition so listing them is one Query, not a Scan.

Workflow definitions sort by name then zero-padded version, so "latest version of X" is a reverse Query
with a small page. Definitions are read on every workflow start and are small and few; if that partition
ever becomes hot, a short-lived cache in front of ``latest_workflow`` is the next step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from batonflow.model import TaskDef, WorkflowDef
from batonflow.store.attrs import Item, doc, get_doc, s
from batonflow.store.errors import ConflictError
from batonflow.store.layout import DEFS_PK

_VERSION_DIGITS = 10


def _workflow_sk(name: str, version: int) -> str:
    return f"WF#{name}#{version:0{_VERSION_DIGITS}d}"


def _task_sk(name: str) -> str:
    return f"TD#{name}"


class DefinitionStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    # -- workflow definitions -------------------------------------------------------------------------
    def put_workflow(self, definition: WorkflowDef, *, overwrite: bool) -> None:
        """Store a definition; ConflictError if name+version exists and ``overwrite`` is False."""
        item: Item = {
            "PK": s(DEFS_PK),
            "SK": s(_workflow_sk(definition.name, definition.version)),
            "body": doc(definition.model_dump(mode="json", by_alias=True, exclude_none=True)),
        }
        kwargs: dict[str, Any] = {"TableName": self._table, "Item": item}
        if not overwrite:
            kwargs["ConditionExpression"] = "attribute_not_exists(SK)"
        try:
            self._client.put_item(**kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConflictError(f"{definition.name}.{definition.version}") from error
            raise

    def get_workflow(self, name: str, version: int | None = None) -> WorkflowDef | None:
        if version is not None:
            response = self._client.get_item(
                TableName=self._table,
                Key={"PK": s(DEFS_PK), "SK": s(_workflow_sk(name, version))},
                ConsistentRead=True,
            )
            item = response.get("Item")
            return WorkflowDef.model_validate(get_doc(item, "body")) if item else None
        for definition in self._query(f"WF#{name}#", newest_first=True):
            if definition["name"] == name:
                return WorkflowDef.model_validate(definition)
        return None

    def list_workflows(self) -> list[WorkflowDef]:
        return [WorkflowDef.model_validate(d) for d in self._query("WF#")]

    def delete_workflow(self, name: str, version: int) -> bool:
        return self._delete(_workflow_sk(name, version))

    # -- task definitions -----------------------------------------------------------------------------
    def put_task(self, definition: TaskDef) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "PK": s(DEFS_PK),
                "SK": s(_task_sk(definition.name)),
                "body": doc(definition.model_dump(mode="json", by_alias=True, exclude_none=True)),
            },
        )

    def get_task(self, name: str) -> TaskDef | None:
        response = self._client.get_item(
            TableName=self._table, Key={"PK": s(DEFS_PK), "SK": s(_task_sk(name))}, ConsistentRead=True
        )
        item = response.get("Item")
        return TaskDef.model_validate(get_doc(item, "body")) if item else None

    def get_tasks(self, names: Iterable[str]) -> dict[str, TaskDef]:
        """Several task definitions in one BatchGetItem round (missing names are left out)."""
        unique = sorted(set(names))
        found: dict[str, TaskDef] = {}
        for start in range(0, len(unique), 100):
            keys = [{"PK": s(DEFS_PK), "SK": s(_task_sk(name))} for name in unique[start : start + 100]]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    definition = TaskDef.model_validate(get_doc(item, "body"))
                    found[definition.name] = definition
                request = response.get("UnprocessedKeys") or {}
        return found

    def list_tasks(self) -> list[TaskDef]:
        return [TaskDef.model_validate(d) for d in self._query("TD#")]

    def delete_task(self, name: str) -> bool:
        return self._delete(_task_sk(name))

    # -- helpers --------------------------------------------------------------------------------------
    def _query(self, prefix: str, *, newest_first: bool = False) -> Iterable[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": s(DEFS_PK), ":prefix": s(prefix)},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**kwargs)
            for item in response.get("Items", []):
                yield get_doc(item, "body")
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def _delete(self, sort_key: str) -> bool:
        response = self._client.delete_item(
            TableName=self._table,
            Key={"PK": s(DEFS_PK), "SK": s(sort_key)},
            ReturnValues="ALL_OLD",
        )
        return "Attributes" in response
