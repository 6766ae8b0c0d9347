"""Candidate choice of pass 1: deterministic top-k, independent of the slab plan."""

from __future__ import annotations

import numpy as np

from workstation.analyses.perfusion.aif import CandidatePool
from workstation.analyses.perfusion.passes import top_candidates


def test_top_candidates_orders_by_key_then_index() -> None:
    rng = np.random.default_rng(0)
    key = rng.integers(0, 20, 5000).astype(np.float64)
    key[[7, 99]] = np.nan
    for k in (1, 10, 333, 5000, 6000):
        got = top_candidates(key, k)
        clean = np.where(np.isnan(key), -np.inf, key)
        ref = np.lexsort((np.arange(key.size), -clean))[: min(k, key.size)]  # independent: full sort
        np.testing.assert_array_equal(got, ref)


def test_slab_wise_pool_equals_whole_volume_choice() -> None:
    """Offering each slab's best to the pool gives the global (key desc, index asc) top-k."""
    rng = np.random.default_rng(1)
    key = rng.integers(0, 30, 4096).astype(np.float64)
    sig = rng.normal(size=(4096, 5))
    whole = top_candidates(key, 100)
    pool = CandidatePool(size=100)
    for a in range(0, 4096, 700):
        top = a + top_candidates(key[a: a + 700], 100)
        pool.offer(key[top], np.stack([top, top, top], 1), sig[top])
    np.testing.assert_array_equal(pool.voxels[:, 0], whole)
