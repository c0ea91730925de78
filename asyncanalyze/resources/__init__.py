"""API resources: one module per endpoint group."""

from .tasks import TasksClient

__all__ = ["TasksClient"]
