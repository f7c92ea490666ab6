"""to_torch: a DataLoader's batches as torch tensors."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._structure import map_arrays, require

__all__ = ["to_torch"]


def to_torch(
    loader: Any,
    device: Any = None,
    pin_memory: bool = False,
    non_blocking: bool = True,
) -> TorchBatches:
    """Return an iterable over ``loader``'s batches with every numeric array a ``torch.Tensor``.

    On the CPU a tensor is ``torch.from_numpy`` of the batch's own array: no
    copy. It shares the array's memory, which stays valid as long as the
    tensor (or any view of it) lives: a worker's shared-memory slot returns to
    the ring only once nothing views it any more, so keeping a tensor is safe
    (the loader then makes new slots, within its ``shm_budget``). Writing into
    the tensor writes into the batch. A read-only array (a memory-mapped
    file's) or one with negative strides (a flipped view) is copied, as torch
    tensors are always writable and have positive strides.

    Parameters
    ----------
    loader : DataLoader
        Any iterable of batches with ``len()``.
    device : str or torch.device, optional
        Move each batch there, one batch ahead of use: batch ``k + 1`` is on
        its way while batch ``k`` is used.
    pin_memory : bool, default False
        With a device, copy each batch into page-locked memory first, so that
        the copy to the device runs asynchronously. Without an accelerator it
        is skipped with a warning (as PyTorch's DataLoader does).
    non_blocking : bool, default True
        Passed to ``Tensor.to``.
    """
    torch = require("torch", "torch")
    return TorchBatches(loader, torch, device, pin_memory, non_blocking)


class TorchBatches:
    """Passes over a loader yielding batches of tensors (see :func:`to_torch`)."""

    def __init__(
        self, loader: Any, torch: Any, device: Any, pin_memory: bool, non_blocking: bool
    ) -> None:
        self.loader = loader
        self._torch = torch
        self.device = None if device is None else torch.device(device)
        self.non_blocking = non_blocking
        self.pin_memory = pin_memory and self.device is not None and self._can_pin()

    def _can_pin(self) -> bool:
        if self.device.type != "cpu" and self._torch.accelerator.is_available():
            return True
        warnings.warn(
            f"to_torch(pin_memory=True) does nothing for device {self.device} "
            "(no accelerator): batches are not pinned",
            RuntimeWarning,
            stacklevel=3,
        )
        return False

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        if self.device is None:
            for batch in self.loader:
                yield map_arrays(self._tensor, batch)
            return
        ahead = None
        for batch in self.loader:
            moved = map_arrays(self._moved_tensor, batch)  # its copy starts now
            if ahead is not None:
                yield ahead
            ahead = moved
        if ahead is not None:
            yield ahead

    def _tensor(self, array: np.ndarray) -> Any:
        if not array.flags.writeable or min(array.strides, default=0) < 0:
            array = np.array(array)  # a writable array with positive strides, as torch needs
        return self._torch.from_numpy(array)

    def _moved_tensor(self, array: np.ndarray) -> Any:
        tensor = self._tensor(array)
        if self.pin_memory:
            tensor = tensor.pin_memory()
        return tensor.to(self.device, non_blocking=self.non_blocking)

    def __repr__(self) -> str:
        return f"to_torch({self.loader!r}, device={self.device})"
