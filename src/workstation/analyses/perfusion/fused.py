"""One CUDA kernel for pass 2 on the GPU: signal -> concentration -> deconvolution -> maps.

Each thread takes one voxel's ``(time,)`` curve (column of the ``(time, voxel)``
series, coalesced across threads), keeps it in registers, and computes the baseline,
the concentration, the CBV area, the peak, the TTP and the residue peak.  No
``(time, voxel)`` or ``(L, voxel)`` intermediate is stored: the kernel reads the series
once and writes the float32 maps (with a :class:`TissueRule`, masked, and the tissue
mask).  Operators live in constant memory, so every multiply-add takes its coefficient
from the constant cache:

* cSVD on an evenly sampled or linearly interpolated grid: the operator on the grid is
  circulant; one column of it is kept and 8 residue rows are computed at a time from a
  sliding window of coefficients (one load per 8 independent multiply-adds);
* sSVD, or cSVD with another resampling: the ``(L, time)`` operator row by row;
* oSVD: singular-basis coefficients band by band into a per-thread residue in shared
  memory, the oscillation index of every candidate on the way.

Interpolation onto the grid uses two samples per grid point with the sample indices
compiled in (:func:`interpolation_pairs`), not a dense matrix.

NumPy twin: the vectorised path of :func:`.passes.compute_maps`
(:func:`.concentration.to_concentration`, :meth:`.deconvolution.Deconvolver.apply`,
:mod:`.maps`), which the CPU runs; ``tests/gpu/test_perfusion_gpu.py`` checks parity.
The arithmetic is the same; only the summation order of the dot products differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.perfusion.deconvolution import Deconvolver
from workstation.analyses.perfusion.maps import CBF_SCALE, CBV_SCALE

#: Output maps of the kernel, in order.
OUTPUTS = ("cbf", "cbv", "mtt", "tmax", "ttp", "threshold", "peak")
#: The masked maps written with a tissue rule (and the tissue mask beside them).
MASKED = OUTPUTS[:6]
_BLOCK = 128
#: Shared memory per block for the oSVD per-thread residues (bytes).
_OSVD_SMEM = 46 * 1024

_SOURCE = r"""
#define T {T}
#define S {S}
#define R {R}
#define NT {NT}
#define NB {NB}
#define NG {NG}
#define L {L}
#define NS {NS}
#define CIRC {CIRC}
#define MR {MR}
#define OSVD {OSVD}
#define BLOCK {BLOCK}
#define CONSTP {CONSTP}
#define IDGRID {IDGRID}
#define MASK {MASK}
#define CIRCP {CIRCP}
#define RB {RB}
// the grid is linear interpolation from the samples: grid point i from samples GJ[i], GJ[i] + 1
#define SPARSEG {SPARSEG}

#if CONSTP
// operator rows in constant memory: every thread reads the same coefficient, which the
// multiply-add then takes straight from the constant cache (no load instruction)
__constant__ T Pc[L * NT];
#define PROW(m, row, t) Pc[(row) * NT + (t)]
#else
#define PROW(m, row, t) __ldg((m) + (row) * NT + (t))
#endif

#if CIRCP
// circulant operator on the grid, P[i, u] = q[(i - u) mod L], stored twice: Qc[j] = q[j mod L]
__constant__ T Qc[2 * L];
#endif
#if SPARSEG
// interpolation weights: Gw[i] for sample GJ[i], Gw[NG + i] for sample GJ[i] + 1
__constant__ T Gw[2 * NG];
#endif

__device__ __forceinline__ T dot_row(const T* __restrict__ m, int row, const T* c) {{
    T acc = 0;
#pragma unroll
    for (int t = 0; t < NT; ++t) acc = fma(PROW(m, row, t), c[t], acc);
    return acc;
}}

__device__ __forceinline__ T dot_grid(const T* __restrict__ m, int row, const T* c) {{
    T acc = 0;
#pragma unroll
    for (int t = 0; t < NT; ++t) acc = fma(__ldg(m + row * NT + t), c[t], acc);
    return acc;
}}

// first maximum of value(0..N-1) and its neighbours (wrapped when circular, clamped
// otherwise), without storing the sequence: numpy's argmax and take
template <int N, bool CIRCULAR, typename F>
__device__ __forceinline__ void first_max(F value, int& idx, T& best, T& left, T& right) {{
    T first = 0, prev = 0;
    bool want = false;
#pragma unroll
    for (int i = 0; i < N; ++i) {{
        T x = value(i);
        if (i == 0) {{ first = x; best = x; idx = 0; left = x; want = true; }}
        else {{
            if (want) {{ right = x; want = false; }}
            if (x > best) {{ best = x; idx = i; left = prev; want = true; }}
        }}
        prev = x;
    }}
    if (want) right = CIRCULAR ? first : prev;
    if (idx == 0) left = CIRCULAR ? prev : first;
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
    const S* __restrict__ sig, long long pitch, long long v0, long long nvox,
    const T* __restrict__ P, const T* __restrict__ V, const int* __restrict__ counts,
    const T* __restrict__ cands, int ncand,
    const T* __restrict__ wgrid, const T* __restrict__ wtrap,
    T te, T dt, T grid_start, T aif_area, T oi_target,
    const R* __restrict__ raw, float lo, float hi, float peak_limit, float max_cbv,
    float* __restrict__ out, unsigned char* __restrict__ tissue)
{{
#if OSVD
    extern __shared__ unsigned char smem_[];
    T* rbuf = reinterpret_cast<T*>(smem_);
#endif
    long long v = (long long)blockIdx.x * BLOCK + threadIdx.x;
    if (v >= nvox) return;
    v += v0;  // voxels v0 .. v0 + nvox of rows of length pitch
    T c[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) c[t] = (T)sig[(long long)t * pitch + v];
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
    // the curve on the uniform grid, when that takes no matrix product
#if IDGRID
    const T* g = c;
#elif SPARSEG
    constexpr int GJ[NG] = {{ {GJ} }};
    T g[NG];
#pragma unroll
    for (int i = 0; i < NG; ++i) g[i] = fma(Gw[NG + i], c[GJ[i] + 1], Gw[i] * c[GJ[i]]);
#endif
    // TTP on the uniform grid (clamped neighbours, flat at the edges)
    int gi; T gbest, gl, gr;
#if IDGRID || SPARSEG
    first_max<NG, false>([&](int i) {{ return g[i]; }}, gi, gbest, gl, gr);
#else
    first_max<NG, false>([&](int i) {{ return dot_grid(wgrid, i, c); }}, gi, gbest, gl, gr);
#endif
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
#elif CIRCP
    // the grid curve deconvolved by the circulant operator, RB residue rows at a time from a sliding window of RB coefficients: one constant
    // load and RB independent multiply-adds per time point
    {{
        T first = 0, prev = 0;
        bool want = false;
        ridx = 0; rpeak = 0; rleft = 0; rright = 0;
        for (int i0 = 0; i0 < L; i0 += RB) {{
            T acc[RB], w[RB];
#pragma unroll
            for (int b = 0; b < RB; ++b) {{ acc[b] = 0; w[b] = Qc[i0 + b + L]; }}
#pragma unroll
            for (int t = 0; t < NG; ++t) {{
#pragma unroll
                for (int b = 0; b < RB; ++b) acc[b] = fma(w[b], g[t], acc[b]);
                if (t + 1 < NG) {{
#pragma unroll
                    for (int b = RB - 1; b > 0; --b) w[b] = w[b - 1];
                    w[0] = Qc[i0 + L - t - 1];
                }}
            }}
#pragma unroll
            for (int b = 0; b < RB; ++b) {{  // first maximum and its neighbours, as first_max
                T x = acc[b];
                if (i0 + b == 0) {{ first = x; rpeak = x; ridx = 0; rleft = x; want = true; }}
                else {{
                    if (want) {{ rright = x; want = false; }}
                    if (x > rpeak) {{ rpeak = x; ridx = i0 + b; rleft = prev; want = true; }}
                }}
                prev = x;
            }}
        }}
        if (want) rright = first;
        if (ridx == 0) rleft = prev;
    }}
    thr = cands[0];
#else
    first_max<L, (bool)CIRC>([&](int i) {{ return dot_row(P, i, c); }}, ridx, rpeak, rleft, rright);
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
    float o[6] = {{(float)cbf, (float)cbv, mtt, (float)tmax, (float)ttp, (float)thr}};
#if MASK
    // tissue: baseline of the unsmoothed series in range (float32 mean, as numpy), no
    // vessel (peak, CBV), a positive finite CBF; NaN elsewhere
    float b = 0;
#pragma unroll
    for (int t = 0; t < NB; ++t) b += (float)raw[(long long)t * pitch + v];
    b = b / (float)NB;
    bool keep = MR ? (b > lo) : (b >= lo && b <= hi);
    keep = keep && (float)peak < peak_limit && o[1] <= max_cbv && isfinite(o[0]) && o[0] > 0.0f;
    tissue[v] = keep;
#pragma unroll
    for (int k = 0; k < 6; ++k) out[k * pitch + v] = keep ? o[k] : __int_as_float(0x7fc00000);
#else
#pragma unroll
    for (int k = 0; k < 6; ++k) out[k * pitch + v] = o[k];
    out[6 * pitch + v] = (float)peak;
#endif
}}
"""

_CTYPES = {"float64": "double", "float32": "float", "int16": "short", "uint16": "unsigned short",
           "int32": "int", "uint8": "unsigned char", "int8": "signed char"}
#: Largest operator kept in constant memory (64 KB per module, some left for the compiler).
_CONST_BYTES = 56 * 1024
_NAN = float("nan")


def block_size(length: int, itemsize: int, osvd: bool) -> int:
    """Threads per block: 128, fewer (multiple of 32) when oSVD residues fill shared memory."""
    if not osvd:
        return _BLOCK
    return int(max(32, min(_BLOCK, (_OSVD_SMEM // (length * itemsize)) // 32 * 32)))


@dataclass(frozen=True)
class TissueRule:
    """Which voxels are tissue (maps elsewhere NaN), judged in float32 as NumPy does.

    Baseline (mean of the unsmoothed baseline frames): CT in ``[lo, hi]`` HU, MR above
    ``lo``; the concentration peak below ``peak_limit``; CBV at most ``max_cbv``
    (ml/100 g); CBF finite and positive.
    """

    lo: float
    hi: float
    peak_limit: float
    max_cbv: float


def interpolation_pairs(
    resample: NDArray[np.float64],
) -> Optional[tuple[tuple[int, ...], NDArray[np.float64], NDArray[np.float64]]]:
    """``(j, w0, w1)`` with ``resample[i] = w0[i] e_j[i] + w1[i] e_(j[i]+1)``, or ``None``
    when a row has other non-zeros (see :func:`.concentration.interpolation_matrix`)."""
    m = np.asarray(resample, dtype=np.float64)
    n_grid, n_in = m.shape
    if n_in < 2:
        return None
    nonzero = m != 0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), 0)
    j = np.minimum(first, n_in - 2)
    rows = np.arange(n_grid)
    w0, w1 = m[rows, j], m[rows, j + 1]
    rest = m.copy()
    rest[rows, j] = 0.0
    rest[rows, j + 1] = 0.0
    if np.any(rest != 0):
        return None
    return tuple(int(v) for v in j), w0, w1


def circulant_column(operator: NDArray[np.float64], rtol: float = 1e-12) -> Optional[NDArray[np.float64]]:
    """``q`` with ``operator[i, t] == q[(i - t) mod L]`` (to ``rtol`` of its largest
    entry), or ``None``: the cSVD operator of evenly sampled data (zero-padded input,
    no resampling) is circulant, which the kernel turns into fewer loads."""
    op = np.asarray(operator, dtype=np.float64)
    length, n_in = op.shape
    q = op[:, 0]
    i, t = np.indices(op.shape)
    if n_in > length or np.max(np.abs(op - q[(i - t) % length])) > rtol * np.max(np.abs(op)):
        return None
    return q


@lru_cache(maxsize=32)
def _kernel(t: str, s: str, r: str, nt: int, nb: int, ng: int, length: int, ns: int, circ: bool, mr: bool,
            osvd: bool, block: int, identity_grid: bool, mask: bool, circulant: bool,
            grid_samples: Optional[tuple[int, ...]]) -> Any:
    """The compiled kernel and the constant memory its operator goes to (``None``: global).

    ``circulant``: the operator on the grid is circulant, kept as its first column
    (``Qc``); otherwise it is kept whole in constant memory (``Pc``) when it fits.
    ``grid_samples``: the first sample of each grid point's interpolation (weights in
    ``Gw``); ``None``: the identity grid or a dense resampling matrix.
    """
    import cupy

    itemsize = 8 if t == "double" else 4
    const_p = not circulant and length * nt * itemsize <= _CONST_BYTES
    rows = next(b for b in (8, 4, 2, 1) if length % b == 0)
    code = _SOURCE.format(T=t, S=s, R=r, NT=nt, NB=nb, NG=ng, L=length, NS=ns, CIRC=int(circ), MR=int(mr),
                          OSVD=int(osvd), BLOCK=block, CONSTP=int(const_p), IDGRID=int(identity_grid),
                          MASK=int(mask), CIRCP=int(circulant), RB=rows, SPARSEG=int(grid_samples is not None),
                          GJ=", ".join(str(j) for j in grid_samples or (0,)), CBF=repr(CBF_SCALE),
                          CBV=repr(CBV_SCALE))
    module = cupy.RawModule(code=code, options=("--std=c++17",))
    kern = module.get_function("perfusion_maps")
    smem = length * block * itemsize if osvd else 0
    if smem > 48 * 1024:
        kern.max_dynamic_shared_size_bytes = smem
    weights = module.get_global("Gw") if grid_samples is not None else None
    if circulant:
        return kern, module.get_global("Qc"), weights
    return kern, (module.get_global("Pc") if const_p else None), weights


class FusedMaps:
    """Pass 2 prepared for one series and one AIF: launch it on ranges of voxels.

    ``sig`` is the ``(time, voxel)`` CuPy series (any real dtype; ``dtype`` is the
    arithmetic precision), ``raw`` the unsmoothed series the tissue baseline is judged
    on (``sig`` itself when not smoothed).  Without a ``rule`` the kernel writes the
    unmasked maps :data:`OUTPUTS`; with one, the first six masked and a tissue mask.
    """

    def __init__(
        self, sig: Any, n_baseline: int, modality: str, te_s: Optional[float], deconvolver: Deconvolver,
        aif_area: float, resample: NDArray[np.float64], trapezoid: NDArray[np.float64], grid_start: float,
        dtype: Any, rule: Optional[TissueRule] = None, raw: Any = None,
    ) -> None:
        import cupy

        t_name = np.dtype(dtype).name
        if sig.dtype.name not in _CTYPES:
            sig = sig.astype(dtype)
        raw = sig if raw is None else raw
        n_t, self.n_vox = sig.shape
        mr = modality.upper() == "MR"
        if mr and (te_s is None or te_s <= 0):
            raise ValueError("MR DSC concentration needs the echo time (EchoTime) in the header or parameters")
        if not 1 <= n_baseline <= n_t:
            raise ValueError(f"baseline frames {n_baseline} outside 1..{n_t}")
        if raw.shape != sig.shape or raw.dtype.name not in _CTYPES:
            raise ValueError("the unsmoothed series must match the series in shape, with a real dtype")
        osvd = deconvolver.method == "osvd"
        length = deconvolver.length
        itemsize = np.dtype(dtype).itemsize
        self.block = block_size(length, itemsize, osvd)
        self.shared = length * self.block * itemsize if osvd else 0
        identity_grid = resample.shape == (n_t, n_t) and bool(np.array_equal(resample, np.eye(n_t)))
        pairs = None if identity_grid else interpolation_pairs(resample)
        column = None
        if deconvolver.method == "csvd" and (identity_grid or pairs is not None):
            column = circulant_column(deconvolver.grid_operators[0])
        self.kernel, const_p, const_w = _kernel(
            _CTYPES[t_name], _CTYPES[sig.dtype.name], _CTYPES[raw.dtype.name], n_t, int(n_baseline),
            resample.shape[0], length, deconvolver.n_samples, deconvolver.method != "ssvd", mr, osvd, self.block,
            identity_grid, rule is not None, column is not None, None if pairs is None else pairs[0])

        def as_dev(a: Any) -> Any:
            return cupy.ascontiguousarray(cupy.asarray(np.asarray(a, dtype=np.float64), dtype=dtype))

        def to_constant(memory: Any, values: Any) -> None:  # stream-ordered before the launches
            cupy.cuda.runtime.memcpyAsync(memory.ptr, values.data.ptr, values.nbytes,
                                          cupy.cuda.runtime.memcpyDeviceToDevice,
                                          cupy.cuda.get_current_stream().ptr)

        proj = as_dev(deconvolver.operators[0])
        if const_p is not None:
            to_constant(const_p, proj if column is None else as_dev(np.concatenate([column, column])))
        if const_w is not None and pairs is not None:
            to_constant(const_w, as_dev(np.concatenate(pairs[1:])))
        scalar = np.float64 if t_name == "float64" else np.float32
        basis = as_dev(deconvolver.operators[1]) if osvd else proj
        counts = cupy.asarray(np.asarray(deconvolver.bands if osvd else (length,), dtype=np.int32))
        rule = rule or TissueRule(_NAN, _NAN, _NAN, _NAN)
        self.sig, self.raw = cupy.ascontiguousarray(sig), cupy.ascontiguousarray(raw)
        self.params = (
            proj, basis, counts, as_dev(deconvolver.thresholds), np.int32(len(deconvolver.thresholds)),
            as_dev(resample), as_dev(trapezoid),
            scalar(te_s or 1.0), scalar(deconvolver.dt), scalar(grid_start), scalar(aif_area),
            scalar(deconvolver.oi_target), self.raw,
            np.float32(rule.lo), np.float32(rule.hi), np.float32(rule.peak_limit), np.float32(rule.max_cbv),
        )

    def launch(self, v0: int, v1: int, out: Any, tissue: Any = None) -> None:
        """Maps of voxels ``v0:v1`` into columns of ``out`` (``(k, n_vox)`` float32) and
        ``tissue`` (``(n_vox,)`` uint8, with a rule), on the current stream."""
        import cupy

        count = v1 - v0
        if count <= 0:
            return
        tissue_ptr = tissue if tissue is not None else cupy.empty(0, dtype=cupy.uint8)
        grid = ((count + self.block - 1) // self.block,)
        self.kernel(grid, (self.block,), (self.sig, np.int64(self.n_vox), np.int64(v0), np.int64(count),
                                          *self.params, out, tissue_ptr),
                    shared_mem=self.shared)


def fused_maps(
    sig: Any, n_baseline: int, modality: str, te_s: Optional[float], deconvolver: Deconvolver,
    aif_area: float, resample: NDArray[np.float64], trapezoid: NDArray[np.float64], grid_start: float,
    dtype: Any,
) -> dict[str, Any]:
    """Unmasked pass 2 of a whole ``(time, voxel)`` CuPy series: the float32 maps
    :data:`OUTPUTS` as CuPy arrays."""
    import cupy

    maps = FusedMaps(sig, n_baseline, modality, te_s, deconvolver, aif_area, resample, trapezoid, grid_start, dtype)
    out = cupy.empty((len(OUTPUTS), maps.n_vox), dtype=cupy.float32)
    maps.launch(0, maps.n_vox, out)
    return {name: out[k] for k, name in enumerate(OUTPUTS)}
