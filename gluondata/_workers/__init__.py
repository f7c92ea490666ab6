"""Worker processes for the DataLoader (private)."""

from .info import WorkerInfo, get_worker_info, set_worker_info
from .pool import ProcessExecutor, WorkerDiedError

__all__ = ["ProcessExecutor", "WorkerDiedError", "WorkerInfo", "get_worker_info", "set_worker_info"]
