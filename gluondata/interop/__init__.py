"""Hand a DataLoader's batches to Keras, PyTorch, JAX or tf.data.

Each adapter keeps the loader's workers doing the work and the batch's
structure (tuples, namedtuples, dicts, ``SampleColumns``) as it is; only the
numeric numpy arrays in it change type. The frameworks are optional: each is
imported when its adapter is called, and a missing one raises an ImportError
naming the extra to install (``gluondata[keras]``, ``[torch]``, ``[jax]``,
``[tensorflow]``).
"""

from ._jax import to_jax
from ._keras import to_keras
from ._tf import to_tf
from ._torch import to_torch

__all__ = ["to_jax", "to_keras", "to_tf", "to_torch"]
