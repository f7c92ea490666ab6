"""scipy.sparse, imported only when sparse input is used (the ``sparse`` extra)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["is_sparse", "scipy_sparse"]


def scipy_sparse() -> ModuleType:
    """Return ``scipy.sparse``, or raise an ImportError naming the extra to install."""
    try:
        import scipy.sparse
    except ImportError as err:
        raise ImportError(
            "sparse (CSR) batches need scipy: pip install 'gluondata[sparse]'"
        ) from err
    return scipy.sparse


def is_sparse(value: Any) -> bool:
    """Whether ``value`` is a scipy sparse matrix or array (without importing scipy)."""
    return type(value).__module__.startswith("scipy.sparse") and hasattr(value, "tocsr")
