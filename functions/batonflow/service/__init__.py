"""Use cases shared by the Lambda handlers: start and read workflows, poll and complete tasks, decide.

Handlers stay thin adapters (an HTTP route, an SQS record) around these functions, which take their
AWS adapters and the clock as arguments, so tests drive them with moto and a fake clock.
"""
