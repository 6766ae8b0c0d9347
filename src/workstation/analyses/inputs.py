"""What every analysis's inputs tell the shared code: their source files, instances and pixels.

A :class:`~workstation.core.volume.Volume` or
:class:`~workstation.core.volume.VolumeSeries` loaded by ``workstation.io`` carries
``meta["source_files"]`` and ``meta["source_instances"]``; any other input type (an
exam of several images, a volume with its series) provides the same as properties
(:class:`SourcedInputs`).  From them come the "never write into a source folder" check
of :mod:`.artifacts`, the patient and study identification of reports and derived
objects, and the input digest of every result's :class:`~workstation.core.provenance.Provenance`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Protocol, runtime_checkable

from workstation.core.paths import version_string
from workstation.core.provenance import InputDigest, ModelInfo, Provenance, instances_digest
from workstation.core.volume import Volume, VolumeSeries


@runtime_checkable
class SourcedInputs(Protocol):
    """Inputs that are not a bare Volume or VolumeSeries say where they came from."""

    @property
    def source_files(self) -> tuple[Path, ...]: ...

    @property
    def source_instances(self) -> tuple[str, ...]: ...

    @property
    def pixel_arrays(self) -> tuple[Any, ...]: ...


def _meta_of(inputs: Any) -> Optional[Any]:
    if isinstance(inputs, Volume):
        return inputs.meta
    if isinstance(inputs, VolumeSeries):
        return inputs.meta or inputs.reference.meta
    return None


def source_files(inputs: Any) -> tuple[Path, ...]:
    """The DICOM files the inputs were read from (empty for inputs built in memory)."""
    meta = _meta_of(inputs)
    if meta is not None:
        return tuple(Path(p) for p in meta.get("source_files") or ())
    if isinstance(inputs, SourcedInputs):
        return tuple(inputs.source_files)
    return ()


def source_instances(inputs: Any) -> tuple[str, ...]:
    """SOP Instance UIDs (``uid/frame`` for a frame of a multi-frame file) of the inputs."""
    meta = _meta_of(inputs)
    if meta is not None:
        return tuple(meta.get("source_instances") or ())
    if isinstance(inputs, SourcedInputs):
        return tuple(inputs.source_instances)
    return ()


def pixel_arrays(inputs: Any) -> tuple[Any, ...]:
    if isinstance(inputs, Volume):
        return (inputs.array,)
    if isinstance(inputs, VolumeSeries):
        return tuple(v.array for v in inputs.volumes)
    if isinstance(inputs, SourcedInputs):
        return tuple(inputs.pixel_arrays)
    raise TypeError(f"cannot identify inputs of type {type(inputs).__name__}")


def input_digest(inputs: Any) -> InputDigest:
    """Digest of the inputs' SOP instances; inputs built in memory have no DICOM identity.

    Those (tests, benchmarks, scripts) get an empty digest of kind ``in-memory arrays``
    rather than a hash of their voxels, which would cost more than many analyses.
    """
    instances = source_instances(inputs)
    if instances:
        return instances_digest(instances)
    return InputDigest("", "in-memory arrays", len(pixel_arrays(inputs)))


def provenance(analysis: str, params: Any, device: str, inputs: Any, model: Any = None) -> Provenance:
    """The provenance of a result of ``analysis`` run with ``params`` on ``device``.

    ``model`` is the :class:`~workstation.ml.manifest.ModelEntry` that ran, if any.
    """
    info = None if model is None else ModelInfo(model.name, model.version, model.sha256)
    values = params.to_json() if hasattr(params, "to_json") else dict(vars(params))
    return Provenance(analysis=analysis, software=f"workstation {version_string()}", device=device,
                      params=values, inputs=input_digest(inputs), model=info)

