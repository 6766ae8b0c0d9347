"""Which array library holds an array, and how to bring it to the host: the one place that asks.

Kernels written against ``xp`` take their namespace from their input
(``xp = array_module(x)``), the way CuPy's ``get_array_module`` does, and bring results
back with :func:`to_host` at the edge.  Neither imports CuPy unless a CuPy array is
passed, so both are safe on machines without CUDA.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray


def is_device_array(x: Any) -> bool:
    """True for a CuPy array (or a CuPy scalar) living in GPU memory."""
    return type(x).__module__.split(".", 1)[0] in ("cupy", "cupyx")


def array_module(*arrays: Any) -> ModuleType:
    """``cupy`` when any argument is a CuPy array, else ``numpy``.

    Examples
    --------
    >>> array_module(np.zeros(3)) is np
    True
    """
    if any(is_device_array(a) for a in arrays):
        import cupy

        return cupy
    return np


def ndimage_module(*arrays: Any) -> ModuleType:
    """``cupyx.scipy.ndimage`` when any argument is a CuPy array, else ``scipy.ndimage`` (both lazy)."""
    if any(is_device_array(a) for a in arrays):
        import cupyx.scipy.ndimage as ndi

        return ndi
    import scipy.ndimage as ndi

    return ndi


def to_host(x: Any, dtype: Any = None) -> NDArray[Any]:
    """``x`` as a NumPy array in host memory (one device-to-host copy for a CuPy array).

    Host inputs are returned without a copy where ``np.asarray`` allows it.
    """
    if is_device_array(x):
        x = x.get()
    return np.asarray(x, dtype=dtype)
