"""The influence matrix of a plan: dose per voxel from each beamlet at unit intensity.

``d = A @ x``: ``A`` is voxels x beamlets (Gy per unit intensity, float32, SciPy CSR),
``x`` the beamlet intensities.  Two file forms are read:

* SciPy ``.npz`` (``scipy.sparse.save_npz``).  The files this package writes add, in the
  same archive, the dose grid the rows lie on (``grid_shape``, ``grid_spacing``,
  ``grid_origin``, ``grid_direction``, ``voxel_index``: the flat grid index of each row)
  and the beamlets (``beamlet_beam``, ``beamlet_xy_mm``, ``beamlet_size_mm``), which
  optimisation and display need; a plain SciPy file is a matrix without geometry.
* PortPy-style HDF5: one file per beam holding ``inf_matrix_sparse`` as ``(n, 3)``
  (row, column, value) triplets, columns numbered within the beam; the beams' columns
  follow each other in file-name order.  A file or a folder of ``*.h5`` files.

Every fault of a file is a :class:`~workstation.io.errors.DicomReadError`-like
:class:`InfluenceError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.core.volume import Volume


class InfluenceError(ValueError):
    """An influence matrix file that cannot be used (the message names it and the fault)."""


@dataclass(frozen=True, eq=False)
class DoseGrid:
    """The regular grid the matrix rows are voxels of (``(z, y, x)``, mm, LPS)."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: NDArray[np.float64]

    @classmethod
    def of(cls, volume: Volume) -> "DoseGrid":
        return cls(volume.shape, volume.spacing, volume.origin, np.asarray(volume.direction))

    def volume(self, array: NDArray[Any], **meta: Any) -> Volume:
        """``array`` (this grid's shape) as a :class:`Volume` placed on the grid."""
        return Volume(array, spacing=self.spacing, origin=self.origin, direction=self.direction,
                      modality="RTDOSE", meta=meta)

    @property
    def voxel_cc(self) -> float:
        return float(np.prod(self.spacing)) / 1000.0


@dataclass(frozen=True, eq=False)
class InfluenceMatrix:
    """A sparse influence matrix, where its rows lie and what its columns are."""

    matrix: Any  # scipy.sparse.csr_matrix, float32
    grid: Optional[DoseGrid] = None
    voxel_index: Optional[NDArray[np.int64]] = None  # flat grid index of each row
    beamlet_beam: Optional[NDArray[np.int32]] = None  # beam number of each column
    beamlet_xy_mm: Optional[NDArray[np.float64]] = None  # (columns, 2) beam's-eye-view centre at the isocentre
    beamlet_size_mm: tuple[float, float] = (0.0, 0.0)
    source: Optional[Path] = None

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.matrix.shape
        return (int(rows), int(cols))

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    def require_grid(self) -> tuple[DoseGrid, NDArray[np.int64]]:
        """The grid and row voxels, or an :class:`InfluenceError` saying they are missing."""
        if self.grid is None or self.voxel_index is None:
            where = f"{self.source}: " if self.source else ""
            raise InfluenceError(f"{where}the influence matrix does not say which dose-grid voxel each row is "
                                 "(a plain SciPy file); optimisation and DVHs need the grid")
        return self.grid, self.voxel_index

    def to_grid(self, dose: NDArray[Any]) -> NDArray[np.float32]:
        """A dose vector (one value per row) as a ``(z, y, x)`` array on the grid (host)."""
        grid, voxels = self.require_grid()
        out = np.zeros(int(np.prod(grid.shape)), dtype=np.float32)
        out[voxels] = np.asarray(dose, dtype=np.float32)
        return out.reshape(grid.shape)


def _csr(matrix: Any) -> Any:
    import scipy.sparse as sp

    out = sp.csr_matrix(matrix, dtype=np.float32)
    out.sum_duplicates()
    out.sort_indices()
    return out


def save_influence(influence: InfluenceMatrix, path: str | Path) -> Path:
    """Write ``influence`` as a SciPy-readable ``.npz`` with its geometry (see the module notes)."""
    m = _csr(influence.matrix)
    arrays: dict[str, Any] = {"format": np.asarray("csr"), "shape": np.asarray(m.shape), "data": m.data,
                              "indices": m.indices, "indptr": m.indptr}
    if influence.grid is not None and influence.voxel_index is not None:
        g = influence.grid
        arrays.update(grid_shape=np.asarray(g.shape), grid_spacing=np.asarray(g.spacing),
                      grid_origin=np.asarray(g.origin), grid_direction=np.asarray(g.direction),
                      voxel_index=np.asarray(influence.voxel_index, dtype=np.int64))
    if influence.beamlet_beam is not None:
        arrays["beamlet_beam"] = np.asarray(influence.beamlet_beam, dtype=np.int32)
    if influence.beamlet_xy_mm is not None:
        arrays["beamlet_xy_mm"] = np.asarray(influence.beamlet_xy_mm, dtype=np.float64)
        arrays["beamlet_size_mm"] = np.asarray(influence.beamlet_size_mm, dtype=np.float64)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def _read_npz(path: Path) -> InfluenceMatrix:
    import scipy.sparse as sp

    try:
        with np.load(path, allow_pickle=False) as z:
            matrix = sp.load_npz(path)
            keys = set(z.files)
            grid = voxels = beams = xy = None
            size = (0.0, 0.0)
            if {"grid_shape", "grid_spacing", "grid_origin", "grid_direction", "voxel_index"} <= keys:
                shape = tuple(int(v) for v in z["grid_shape"])
                grid = DoseGrid((shape[0], shape[1], shape[2]), tuple(float(v) for v in z["grid_spacing"]),  # type: ignore[arg-type]
                                tuple(float(v) for v in z["grid_origin"]), np.asarray(z["grid_direction"], float))  # type: ignore[arg-type]
                voxels = np.asarray(z["voxel_index"], dtype=np.int64)
            if "beamlet_beam" in keys:
                beams = np.asarray(z["beamlet_beam"], dtype=np.int32)
            if "beamlet_xy_mm" in keys:
                xy = np.asarray(z["beamlet_xy_mm"], dtype=np.float64)
                s = np.asarray(z["beamlet_size_mm"], dtype=np.float64) if "beamlet_size_mm" in keys else np.zeros(2)
                size = (float(s[0]), float(s[1]))
    except (OSError, ValueError, KeyError) as exc:
        raise InfluenceError(f"{path}: not a SciPy sparse .npz ({type(exc).__name__}: {exc})") from None
    return _checked(InfluenceMatrix(_csr(matrix), grid, voxels, beams, xy, size, path))


def _read_hdf5(files: list[Path], where: Path) -> InfluenceMatrix:
    import h5py
    import scipy.sparse as sp

    rows, cols, vals, beams = [], [], [], []
    offset, n_rows = 0, 0
    for number, path in enumerate(files):
        try:
            with h5py.File(path, "r") as f:
                if "inf_matrix_sparse" not in f:
                    raise InfluenceError(f"{path}: no 'inf_matrix_sparse' dataset (not a PortPy beam file)")
                triplets = np.asarray(f["inf_matrix_sparse"][()], dtype=np.float64)
        except OSError as exc:
            raise InfluenceError(f"{path}: not an HDF5 file ({exc})") from None
        if triplets.ndim != 2 or triplets.shape[1] != 3 or not np.all(np.isfinite(triplets)):
            raise InfluenceError(f"{path}: 'inf_matrix_sparse' must be finite (row, column, value) triplets")
        r, c = triplets[:, 0].astype(np.int64), triplets[:, 1].astype(np.int64)
        if r.size and (r.min() < 0 or c.min() < 0):
            raise InfluenceError(f"{path}: negative row or column index")
        width = int(c.max()) + 1 if c.size else 0
        rows.append(r)
        cols.append(c + offset)
        vals.append(triplets[:, 2].astype(np.float32))
        beams.append(np.full(width, number, dtype=np.int32))
        offset += width
        n_rows = max(n_rows, int(r.max()) + 1 if r.size else 0)
    matrix = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_rows, offset))
    return _checked(InfluenceMatrix(_csr(matrix), beamlet_beam=np.concatenate(beams), source=where))


def _checked(influence: InfluenceMatrix) -> InfluenceMatrix:
    m, where = influence.matrix, influence.source
    if not np.all(np.isfinite(m.data)) or (m.data.size and float(m.data.min()) < 0):
        raise InfluenceError(f"{where}: the influence matrix holds negative or non-finite doses")
    rows, cols = influence.shape
    if influence.voxel_index is not None:
        grid = influence.grid
        assert grid is not None
        if influence.voxel_index.shape != (rows,) or (rows and (influence.voxel_index.min() < 0 or
                                                                influence.voxel_index.max() >= np.prod(grid.shape))):
            raise InfluenceError(f"{where}: voxel_index must name one grid voxel per row")
    for name, arr in (("beamlet_beam", influence.beamlet_beam), ("beamlet_xy_mm", influence.beamlet_xy_mm)):
        if arr is not None and len(arr) != cols:
            raise InfluenceError(f"{where}: {name} has {len(arr)} entries for {cols} columns")
    return influence


def load_influence(path: str | Path) -> InfluenceMatrix:
    """Read an influence matrix: a ``.npz``, an HDF5 beam file, or a folder of HDF5 beam files."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.h5")) + sorted(path.glob("*.hdf5"))
        if not files:
            raise InfluenceError(f"{path}: no *.h5 beam files in the folder")
        return _read_hdf5(files, path)
    if not path.is_file():
        raise InfluenceError(f"{path}: no such file")
    if path.suffix.lower() in (".h5", ".hdf5"):
        return _read_hdf5([path], path)
    return _read_npz(path)
