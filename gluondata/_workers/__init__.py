"""Worker processes for the DataLoader (private)."""

from .pool import ProcessExecutor

__all__ = ["ProcessExecutor"]
