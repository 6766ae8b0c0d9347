"""Building blocks for the DICOM objects analyses write with highdicom (SR, SEG).

* :func:`evidence` reads source headers (no pixels) with every patient/study type 2
  attribute present, so highdicom can copy the patient and study into the new object
  even from a source that omits them (they are allowed to be empty, not absent).
* :func:`device_observer`, :func:`algorithm` and :func:`seg_algorithm` carry a result's
  :class:`~workstation.core.provenance.Provenance` (software, model and its SHA-256,
  device, input digest, parameters) into the object, so the SR or SEG says how it was made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from workstation.core.provenance import Provenance

MANUFACTURER = "Workstation"


def evidence(paths: Sequence[str | Path]) -> list[Any]:
    """Headers of the source images (no pixels), missing type 2 attributes added empty."""
    import pydicom

    from workstation.io.writers import fill_type2

    out = []
    for path in paths:
        try:
            ds = pydicom.dcmread(str(path), stop_before_pixels=True)
        except Exception as exc:
            raise ValueError(f"{path}: cannot read the source image ({type(exc).__name__}: {exc})") from exc
        out.append(fill_type2(ds))
    return out


def provenance_parameters(provenance: Provenance) -> dict[str, str]:
    """Provenance as name -> text (Algorithm Parameters of SR and SEG)."""
    out = {"software": provenance.software, "device": provenance.device,
           "inputs_sha256": f"{provenance.inputs.sha256} ({provenance.inputs.count} {provenance.inputs.kind})",
           "created_utc": provenance.created_utc}
    if provenance.model is not None:
        out["model_sha256"] = provenance.model.sha256
    out.update({f"param {k}": str(v)[:256] for k, v in provenance.params.items()})
    return out


def algorithm(provenance: Provenance) -> Any:
    """highdicom ``AlgorithmIdentification`` (SR TID 4019) of the model or analysis."""
    from highdicom.sr import AlgorithmIdentification

    name, version = _name_version(provenance)
    params = [f"{k}: {v}" for k, v in provenance_parameters(provenance).items()]
    return AlgorithmIdentification(name=name, version=version, parameters=params)


def device_observer(provenance: Provenance, description: str) -> Any:
    """highdicom ``ObserverContext`` naming this software as the observing device."""
    import highdicom as hd
    from highdicom.sr import DeviceObserverIdentifyingAttributes, ObserverContext
    from pydicom.sr.codedict import codes

    return ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name=description[:64], manufacturer_name=MANUFACTURER,
            model_name=provenance.software[:64]),
    )


def seg_algorithm(provenance: Provenance) -> Any:
    """highdicom ``AlgorithmIdentificationSequence`` for a SEG made by a model."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    name, version = _name_version(provenance)
    params = {k: v[:64] for k, v in provenance_parameters(provenance).items()}
    return hd.AlgorithmIdentificationSequence(name=name, version=version,
                                              family=codes.cid7162.ArtificialIntelligence, parameters=params)


def _name_version(provenance: Provenance) -> tuple[str, str]:
    if provenance.model is not None:
        return provenance.model.name[:64], provenance.model.version[:64] or "1"
    return f"workstation {provenance.analysis}"[:64], provenance.software.split(" ", 1)[-1][:64]


def save(dataset: Any, path: str | Path) -> Path:
    """Write a highdicom dataset as a DICOM file (preamble and file meta)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(str(path), enforce_file_format=True)
    return path
