"""One CUDA kernel for pass 2 on the GPU: signal -> concentration -> deconvolution -> maps.

Each thread takes one voxel's ``(time,)`` curve (column of the ``(time, voxel)``
series, coalesced across threads), keeps it in registers, and computes the baseline,
the concentration, the CBV area, the peak, the TTP and the residue peak (sSVD/cSVD:
the rows of the pseudo-inverse one at a time; oSVD: singular-basis coefficients band
by band into a per-thread residue in shared memory, the oscillation index of every
candidate on the way).  No ``(time, voxel)`` or ``(L, voxel)`` intermediate is stored:
the kernel reads the series once and writes seven float32 maps.

NumPy twin: the vectorised path of :func:`.passes.compute_maps`
(:func:`.concentration.to_concentration`, :meth:`.deconvolution.Deconvolver.apply`,
:mod:`.maps`), which the CPU runs; ``tests/gpu/test_perfusion_gpu.py`` checks parity.
The arithmetic is the same; only the summation order of the dot products differs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.perfusion.deconvolution import Deconvolver
from workstation.analyses.perfusion.maps import CBF_SCALE, CBV_SCALE

#: Output maps of the kernel, in order.
OUTPUTS = ("cbf", "cbv", "mtt", "tmax", "ttp", "threshold", "peak")
_BLOCK = 128
#: Shared memory per block for the oSVD per-thread residues (bytes).
_OSVD_SMEM = 46 * 1024

_SOURCE = r"""
#define T {T}
#define S {S}
#define NT {NT}
#define NB {NB}
#define NG {NG}
#define L {L}
#define NS {NS}
#define CIRC {CIRC}
#define MR {MR}
#define OSVD {OSVD}
#define BLOCK {BLOCK}

__device__ __forceinline__ T dot_row(const T* __restrict__ m, int row, const T* c) {{
    T acc = 0;
#pragma unroll
    for (int t = 0; t < NT; ++t) acc = fma(__ldg(m + row * NT + t), c[t], acc);
    return acc;
}}

// numpy residue_peak / peak_time: first maximum, parabola through its neighbours
__device__ __forceinline__ T refine(int idx, T left, T mid, T right, int n, bool circ, bool edges_flat) {{
    T denom = left - (T)2.0 * mid + right;
    T offset = denom < 0 ? (T)0.5 * (left - right) / denom : (T)0.0;
    if (edges_flat && (idx == 0 || idx == n - 1)) offset = 0;
    offset = offset < (T)-0.5 ? (T)-0.5 : (offset > (T)0.5 ? (T)0.5 : offset);
    return (T)idx + offset;
}}

extern "C" __global__ void perfusion_maps(
    const S* __restrict__ sig, long long nvox,
    const T* __restrict__ P, const T* __restrict__ V, const int* __restrict__ counts,
    const T* __restrict__ cands, int ncand,
    const T* __restrict__ wgrid, const T* __restrict__ wtrap,
    T te, T dt, T grid_start, T aif_area, T oi_target,
    float* __restrict__ out)
{{
#if OSVD
    extern __shared__ unsigned char smem_[];
    T* rbuf = reinterpret_cast<T*>(smem_);
#endif
    long long v = (long long)blockIdx.x * BLOCK + threadIdx.x;
    if (v >= nvox) return;
    T c[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) c[t] = (T)sig[(long long)t * nvox + v];
    T s0 = 0;
#pragma unroll
    for (int t = 0; t < NB; ++t) s0 += c[t];
    s0 = s0 / (T)NB;
#if MR
    T sfl = s0 > (T)1e-6 ? s0 : (T)1e-6;
    T floor_ = sfl * (T)1e-3;
#pragma unroll
    for (int t = 0; t < NT; ++t) {{
        T x = c[t] > floor_ ? c[t] : floor_;
        c[t] = -log(x / sfl) / te;
    }}
#else
#pragma unroll
    for (int t = 0; t < NT; ++t) c[t] = c[t] - s0;
#endif
    T peak = c[0], area = 0;
#pragma unroll
    for (int t = 0; t < NT; ++t) {{
        if (c[t] > peak) peak = c[t];
        area = fma(__ldg(wtrap + t), c[t], area);
    }}
    // TTP on the uniform grid (clamped neighbours, flat at the edges)
    int gi = 0;
    T gbest = dot_row(wgrid, 0, c);
    for (int i = 1; i < NG; ++i) {{
        T g = dot_row(wgrid, i, c);
        if (g > gbest) {{ gbest = g; gi = i; }}
    }}
    T gl = dot_row(wgrid, gi > 0 ? gi - 1 : 0, c);
    T gr = dot_row(wgrid, gi < NG - 1 ? gi + 1 : NG - 1, c);
    T ttp = grid_start + refine(gi, gl, gbest, gr, NG, false, true) * dt;

    int ridx; T rpeak, rleft, rright, thr;
#if OSVD
    T* r = rbuf + threadIdx.x;
    for (int i = 0; i < L; ++i) r[i * BLOCK] = 0;
    int done = 0;
    for (int k = 0; k < ncand; ++k) {{
        int count = counts[k];
        for (int j = done; j < count; ++j) {{
            T z = dot_row(P, j, c);
            const T* vj = V + j;
            for (int i = 0; i < L; ++i) r[i * BLOCK] = fma(__ldg(vj + i * L), z, r[i * BLOCK]);
        }}
        if (count > done) done = count;
        int bi = 0; T best = r[0];
        T r0 = r[0], r1 = r[BLOCK], curv = 0;
        if (r1 > best) {{ best = r1; bi = 1; }}
        for (int i = 2; i < L; ++i) {{
            T r2 = r[i * BLOCK];
            if (r2 > best) {{ best = r2; bi = i; }}
            curv += fabs(r2 - (T)2.0 * r1 + r0);
            r0 = r1; r1 = r2;
        }}
        bool take = (k == 0);
        if (!take) {{
            T safe = best > 0 ? best : (T)1.0;
            T oi = curv / ((T)L * safe);
            take = (best > 0) && (oi < oi_target);
        }}
        if (take) {{
            ridx = bi; rpeak = best; thr = cands[k];
            rleft = r[((bi - 1 + L) % L) * BLOCK];
            rright = r[((bi + 1) % L) * BLOCK];
        }}
    }}
#else
    ridx = 0; rpeak = dot_row(P, 0, c);
    for (int i = 1; i < L; ++i) {{
        T x = dot_row(P, i, c);
        if (x > rpeak) {{ rpeak = x; ridx = i; }}
    }}
#if CIRC
    rleft = dot_row(P, (ridx - 1 + L) % L, c);
    rright = dot_row(P, (ridx + 1) % L, c);
#else
    rleft = dot_row(P, ridx > 0 ? ridx - 1 : 0, c);
    rright = dot_row(P, ridx < L - 1 ? ridx + 1 : L - 1, c);
#endif
    thr = cands[0];
#endif
    T pos = refine(ridx, rleft, rpeak, rright, L, CIRC, !CIRC);
#if CIRC
    if (ridx >= NS) pos = pos - (T)L;
#endif
    T tmax = pos * dt;
    tmax = tmax > 0 ? tmax : (T)0.0;
    T cbf = rpeak * (T){CBF};
    T cbv = area / aif_area * (T){CBV};
    float mtt = cbf > 0 ? (float)(cbv / cbf * (T)60.0) : __int_as_float(0x7fc00000);
    out[0 * nvox + v] = (float)cbf;
    out[1 * nvox + v] = (float)cbv;
    out[2 * nvox + v] = mtt;
    out[3 * nvox + v] = (float)tmax;
    out[4 * nvox + v] = (float)ttp;
    out[5 * nvox + v] = (float)thr;
    out[6 * nvox + v] = (float)peak;
}}
"""

_CTYPES = {"float64": "double", "float32": "float", "int16": "short", "uint16": "unsigned short",
           "int32": "int", "uint8": "unsigned char", "int8": "signed char"}


def block_size(length: int, itemsize: int, osvd: bool) -> int:
    """Threads per block: 128, fewer (multiple of 32) when oSVD residues fill shared memory."""
    if not osvd:
        return _BLOCK
    return int(max(32, min(_BLOCK, (_OSVD_SMEM // (length * itemsize)) // 32 * 32)))


@lru_cache(maxsize=32)
def _kernel(t: str, s: str, nt: int, nb: int, ng: int, length: int, ns: int, circ: bool, mr: bool,
            osvd: bool, block: int) -> Any:
    import cupy

    code = _SOURCE.format(T=t, S=s, NT=nt, NB=nb, NG=ng, L=length, NS=ns, CIRC=int(circ), MR=int(mr),
                          OSVD=int(osvd), BLOCK=block, CBF=repr(CBF_SCALE), CBV=repr(CBV_SCALE))
    kern = cupy.RawKernel(code, "perfusion_maps", options=("--std=c++17",))
    smem = length * block * (8 if t == "double" else 4) if osvd else 0
    if smem > 48 * 1024:
        kern.max_dynamic_shared_size_bytes = smem
    return kern


def fused_maps(
    sig: Any, n_baseline: int, modality: str, te_s: Optional[float], deconvolver: Deconvolver,
    aif_area: float, resample: NDArray[np.float64], trapezoid: NDArray[np.float64], grid_start: float,
    dtype: Any,
) -> dict[str, Any]:
    """Pass 2 for a ``(time, voxel)`` CuPy series (any real dtype; ``dtype`` is the
    arithmetic precision): returns the float32 maps :data:`OUTPUTS` as CuPy arrays."""
    import cupy

    t_name = np.dtype(dtype).name
    s_name = sig.dtype.name
    if s_name not in _CTYPES:
        sig = sig.astype(dtype)
        s_name = t_name
    n_t, n_vox = sig.shape
    mr = modality.upper() == "MR"
    if mr and (te_s is None or te_s <= 0):
        raise ValueError("MR DSC concentration needs the echo time (EchoTime) in the header or parameters")
    if not 1 <= n_baseline <= n_t:
        raise ValueError(f"baseline frames {n_baseline} outside 1..{n_t}")
    osvd = deconvolver.method == "osvd"
    circ = deconvolver.method != "ssvd"
    length = deconvolver.length
    itemsize = np.dtype(dtype).itemsize
    block = block_size(length, itemsize, osvd)
    kern = _kernel(_CTYPES[t_name], _CTYPES[s_name], n_t, int(n_baseline), resample.shape[0], length,
                   deconvolver.n_samples, circ, mr, osvd, block)
    as_dev = lambda a: cupy.ascontiguousarray(cupy.asarray(np.asarray(a, dtype=np.float64), dtype=dtype))  # noqa: E731
    proj = as_dev(deconvolver.operators[0])
    basis = as_dev(deconvolver.operators[1]) if osvd else proj
    counts = cupy.asarray(np.asarray(deconvolver.bands if osvd else (length,), dtype=np.int32))
    cands = as_dev(deconvolver.thresholds)
    out = cupy.empty((len(OUTPUTS), n_vox), dtype=cupy.float32)
    scalar = np.float64 if t_name == "float64" else np.float32
    sig = cupy.ascontiguousarray(sig)
    grid = ((n_vox + block - 1) // block,)
    kern(grid, (block,), (
        sig, np.int64(n_vox), proj, basis, counts, cands, np.int32(len(deconvolver.thresholds)),
        as_dev(resample), as_dev(trapezoid),
        scalar(te_s or 1.0), scalar(deconvolver.dt), scalar(grid_start), scalar(aif_area),
        scalar(deconvolver.oi_target), out,
    ), shared_mem=length * block * itemsize if osvd else 0)
    return {name: out[k] for k, name in enumerate(OUTPUTS)}
