"""Fluence optimisation: a quadratic objective over the dose ``d = A x`` with ``x >= 0``.

Per objective term ``t`` (a structure, a kind, a dose ``D`` in Gy and a weight ``w``)::

    f_t = w / V_t * sum_i v_i phi(d_i - D)      (v_i: voxel's covered fraction, V_t = sum v_i)
    phi(r) = r^2 (target), min(r, 0)^2 (underdose), max(r, 0)^2 (overdose)

plus a smoothness term ``lambda * ||G x||^2`` (``G``: differences between neighbouring
beamlets of each beam).  SciPy's L-BFGS-B minimises it with bounds ``x >= 0``; the
objective and its gradient (``A^T`` of the voxel residuals) are evaluated on the
backend, so each evaluation moves only ``x`` up and the gradient and one number down.
:func:`solve_reference` states the same problem in CVXPY for an open conic solver (the
CPU reference the tests compare with).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

from workstation.analyses.rt_dose.kernels import scatter_add
from workstation.analyses.rt_dose.operators import DoseOperator, to_backend_csr
from workstation.compute.arrays import to_host

KINDS = ("target", "underdose", "overdose")
IterationFn = Callable[[int, float], None]


@dataclass(frozen=True)
class Objective:
    """One term: push ``structure``'s dose to (``target``), above (``underdose``) or below (``overdose``) ``dose_gy``."""

    structure: str
    kind: str
    dose_gy: float
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"objective kind {self.kind!r} for {self.structure}: use one of {', '.join(KINDS)}")
        if not (np.isfinite(self.dose_gy) and self.dose_gy >= 0 and np.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"objective for {self.structure}: dose and weight must be finite and >= 0")

    def to_json(self) -> dict[str, Any]:
        return {"structure": self.structure, "type": self.kind, "dose_gy": self.dose_gy, "weight": self.weight}


@dataclass(frozen=True)
class ObjectiveSet:
    """The objectives of a plan, the smoothness weight and the iteration limit."""

    objectives: tuple[Objective, ...]
    smoothness: float = 0.0
    max_iterations: int = 200
    prescription_gy: Optional[float] = None

    def to_json(self) -> dict[str, Any]:
        return {"prescription_gy": self.prescription_gy, "smoothness": self.smoothness,
                "max_iterations": self.max_iterations, "objectives": [o.to_json() for o in self.objectives]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ObjectiveSet":
        """Objectives as ``{"objectives": [{"structure", "type", "dose_gy", "weight"}...], "smoothness", ...}``."""
        try:
            terms = tuple(Objective(str(o["structure"]), str(o.get("type", o.get("kind", ""))), float(o["dose_gy"]),
                                    float(o.get("weight", 1.0))) for o in data["objectives"])
            rx = data.get("prescription_gy")
            out = cls(terms, float(data.get("smoothness", 0.0)), int(data.get("max_iterations", 200)),
                      None if rx is None else float(rx))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"objectives need 'objectives': [{{structure, type, dose_gy, weight}}...] ({exc})") from None
        if not terms:
            raise ValueError("no objectives given")
        if out.smoothness < 0 or out.max_iterations < 1:
            raise ValueError("smoothness must be >= 0 and max_iterations >= 1")
        return out

    @classmethod
    def load(cls, path: str | Path) -> "ObjectiveSet":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the objectives ({exc})") from None
        return cls.from_json(data)


@dataclass(frozen=True, eq=False)
class Term:
    """An objective resolved onto matrix rows: ``rows`` and their covered fractions (host arrays)."""

    objective: Objective
    rows: NDArray[np.int64]
    fractions: NDArray[np.float32]


def smoothness_matrix(beams: Optional[NDArray[np.int32]], xy_mm: Optional[NDArray[np.float64]],
                      size_mm: tuple[float, float]) -> Any:
    """``G^T G`` of first differences between beamlets adjacent in x or y within a beam (SciPy CSR)."""
    import scipy.sparse as sp

    n = 0 if xy_mm is None else len(xy_mm)
    if beams is None or xy_mm is None or n == 0 or min(size_mm) <= 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    grid = np.rint(xy_mm / np.asarray(size_mm)[None, :]).astype(np.int64)
    where = {(int(b), int(i), int(j)): k for k, (b, (i, j)) in enumerate(zip(beams, grid))}
    pairs = [(k, where[(b, i + di, j + dj)]) for (b, i, j), k in where.items()
             for di, dj in ((1, 0), (0, 1)) if (b, i + di, j + dj) in where]
    if not pairs:
        return sp.csr_matrix((n, n), dtype=np.float32)
    a, b = np.asarray(pairs).T
    m = len(pairs)
    g = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[np.arange(m), np.arange(m)], np.r_[a, b])),
                      shape=(m, n), dtype=np.float32)
    return (g.T @ g).tocsr()


class Problem:
    """The objective on the backend: terms' rows resident, ``value_and_gradient`` per L-BFGS-B call."""

    def __init__(self, operator: DoseOperator, terms: Sequence[Term], smoothness: float = 0.0,
                 laplacian: Any = None) -> None:
        self.operator, self.backend = operator, operator.backend
        xp = self.backend.xp
        self.terms = [(t.objective, self.backend.asarray(t.rows), self.backend.asarray(t.fractions.astype(np.float32)),
                       float(t.objective.weight / max(float(t.fractions.sum()), 1e-12))) for t in terms]
        self.smoothness = float(smoothness)
        self.laplacian = to_backend_csr(laplacian, self.backend) if laplacian is not None and smoothness > 0 else None
        self.rows = operator.shape[0]
        self.evaluations = 0
        self._xp = xp

    def value_and_gradient(self, x: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        xp = self._xp
        xd = self.backend.asarray(np.asarray(x, dtype=np.float32))
        dose = self.operator.dose(xd)
        g_dose = xp.zeros(self.rows, dtype=xp.float32)
        parts = []
        for objective, rows, frac, scale in self.terms:
            r = dose[rows] - np.float32(objective.dose_gy)
            if objective.kind == "underdose":
                r = xp.minimum(r, 0)
            elif objective.kind == "overdose":
                r = xp.maximum(r, 0)
            wr = frac * r
            parts.append(np.float32(scale) * xp.sum(wr.astype(xp.float64) * r))
            scatter_add(xp, g_dose, rows, np.float32(2.0 * scale) * wr)
        grad = self.operator.adjoint(g_dose)
        if self.laplacian is not None:
            lx = self.laplacian @ xd
            parts.append(self.smoothness * xp.sum(xd.astype(xp.float64) * lx))
            grad = grad + np.float32(2.0 * self.smoothness) * lx
        total = xp.sum(xp.stack(parts)) if parts else xp.zeros((), dtype=xp.float64)
        self.evaluations += 1
        return float(to_host(total)), to_host(grad).astype(np.float64)

    def dose(self, x: NDArray[np.float64]) -> Any:
        """The dose of ``x`` on the backend (one value per matrix row)."""
        return self.operator.dose(self.backend.asarray(np.asarray(x, dtype=np.float32)))


@dataclass(frozen=True, eq=False)
class OptimisationRun:
    """The fluence found and how the objective fell, one value per L-BFGS-B iteration."""

    x: NDArray[np.float64]
    objective: tuple[float, ...]
    seconds: float
    evaluations: int
    converged: bool
    message: str
    device: str
    timings_s: Mapping[str, float] = field(default_factory=dict)


def start_fluence(problem: Problem, prescription_gy: float) -> NDArray[np.float64]:
    """A uniform fluence scaled so that the first target term's mean dose is ``prescription_gy``."""
    n = problem.operator.shape[1]
    ones = np.ones(n, dtype=np.float64)
    targets = [t for t in problem.terms if t[0].kind in ("target", "underdose")] or problem.terms
    if not targets or prescription_gy <= 0:
        return ones
    _obj, rows, frac, _scale = targets[0]
    xp = problem.backend.xp
    dose = problem.dose(ones)
    mean = float(to_host(xp.sum(frac * dose[rows]) / xp.maximum(xp.sum(frac), 1e-12)))
    return ones * (prescription_gy / mean) if mean > 0 else ones


def optimise(problem: Problem, x0: NDArray[np.float64], max_iterations: int = 200,
             on_iteration: Optional[IterationFn] = None) -> OptimisationRun:
    """Minimise ``problem`` from ``x0`` with L-BFGS-B (``x >= 0``); ``on_iteration(k, f)`` after each iteration.

    ``on_iteration`` may raise :class:`~workstation.core.progress.Cancelled` to stop.
    """
    from scipy.optimize import OptimizeResult, minimize

    history: list[float] = []
    start = time.perf_counter()
    f0, _ = problem.value_and_gradient(x0)
    history.append(f0)
    if on_iteration is not None:
        on_iteration(0, f0)

    def callback(intermediate_result: OptimizeResult) -> None:
        history.append(float(intermediate_result.fun))
        if on_iteration is not None:
            on_iteration(len(history) - 1, history[-1])

    result = minimize(problem.value_and_gradient, x0, jac=True, method="L-BFGS-B",
                      bounds=[(0.0, None)] * len(x0), callback=callback,
                      options={"maxiter": int(max_iterations), "maxcor": 20, "ftol": 1e-10, "gtol": 1e-8})
    x = np.maximum(np.asarray(result.x, dtype=np.float64), 0.0)
    return OptimisationRun(x, tuple(history), time.perf_counter() - start, problem.evaluations,
                           bool(result.success), str(result.message), problem.backend.label)


def solve_reference(matrix: Any, terms: Sequence[Term], smoothness: float = 0.0, laplacian: Any = None,
                    solver: str = "CLARABEL") -> tuple[NDArray[np.float64], float]:
    """The same problem in CVXPY, solved by an open solver on the CPU: ``(x, objective)``."""
    import cvxpy as cp

    n = int(matrix.shape[1])
    x = cp.Variable(n, nonneg=True)
    total: Any = 0
    for t in terms:
        scale = t.objective.weight / max(float(t.fractions.sum()), 1e-12)
        r = matrix[t.rows] @ x - t.objective.dose_gy
        if t.objective.kind == "underdose":
            r = cp.neg(r)
        elif t.objective.kind == "overdose":
            r = cp.pos(r)
        total = total + scale * cp.sum(cp.multiply(np.asarray(t.fractions, dtype=np.float64), cp.square(r)))
    if laplacian is not None and smoothness > 0:
        lap = laplacian.astype(np.float64)
        total = total + smoothness * cp.quad_form(x, cp.psd_wrap(lap))
    problem = cp.Problem(cp.Minimize(total))
    problem.solve(solver=solver)
    if x.value is None:
        raise RuntimeError(f"CVXPY ({solver}) found no solution: {problem.status}")
    return np.maximum(np.asarray(x.value, dtype=np.float64), 0.0), float(problem.value)
