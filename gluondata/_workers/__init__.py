"""Worker processes for the DataLoader (private)."""

from .pool import ProcessExecutor, WorkerDiedError

__all__ = ["ProcessExecutor", "WorkerDiedError"]
