"""Keeping BLAS from fighting the application's own threads.

OpenBLAS starts one thread per core for every call and lets them spin for a while
afterwards.  Small host matrices (an 80 x 80 SVD) gain nothing from them, and the
spinning threads slow down whatever runs next on the same cores: the worker threads
of a chunked CPU pass, or the staging threads of a GPU upload.
"""

from __future__ import annotations

from typing import Any


def single_threaded_blas() -> Any:
    """Context manager in which BLAS runs on the calling thread only (threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
