"""DynamoDB persistence: workflow executions (one header item + one item per task attempt under the
workflow's partition) and definitions. See ``store.layout`` for the item shapes."""
