"""Worker processes for the DataLoader (private)."""

from .executor import ProcessExecutor, WorkerDiedError

__all__ = ["ProcessExecutor", "WorkerDiedError"]
