"""Pick the structure set, dose grid and plan of a study that belong together, and read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from workstation.analyses.base import InputError
from workstation.core.progress import ProgressFn, report
from workstation.core.rt import RtDose, RtPlan, StructureSet
from workstation.core.study import Study
from workstation.core.volume import Volume


@dataclass(frozen=True, eq=False)
class RtDoseInputs:
    """A structure set with its contours, a dose grid (``grid``: values in ``dose.units``) and the plan."""

    structure_set: StructureSet
    dose: RtDose
    grid: Volume
    plan: Optional[RtPlan] = None

    @property
    def source_files(self) -> tuple[Path, ...]:
        refs = [self.structure_set.ref, self.dose.ref] + ([self.plan.ref] if self.plan is not None else [])
        return tuple(r.path for r in refs)

    @property
    def source_instances(self) -> tuple[str, ...]:
        refs = [self.structure_set.ref, self.dose.ref] + ([self.plan.ref] if self.plan is not None else [])
        return tuple(r.sop_instance_uid for r in refs)

    @property
    def pixel_arrays(self) -> tuple[Any, ...]:
        return (self.grid.array,)


def _plan_of(study: Study, dose: RtDose) -> Optional[RtPlan]:
    for plan in study.objects_of(RtPlan):
        if plan.ref.sop_instance_uid == dose.referenced_plan_uid:
            return plan
    return None


def _same_frame(a: str, b: str) -> bool:
    return not a or not b or a == b


def pick(study: Study) -> tuple[StructureSet, RtDose, Optional[RtPlan]]:
    """The dose grid to analyse (a plan sum first), its plan, and the structure set it belongs to.

    Raises
    ------
    InputError
        When the study holds no dose grid or no structure set, or none on the dose's
        Frame of Reference.
    """
    doses = [d for d in study.objects_of(RtDose) if d.geometry is not None]
    sets = study.objects_of(StructureSet)
    if not doses:
        raise InputError(f"study {study.uid} holds no RT Dose with a dose grid")
    if not sets:
        raise InputError(f"study {study.uid} holds no RT Structure Set to compute DVHs of")
    doses.sort(key=lambda d: (d.summation_type != "PLAN", d.summation_type != "MULTI_PLAN"))
    for dose in doses:
        plan = _plan_of(study, dose)
        named = [s for s in sets if plan is not None and s.ref.sop_instance_uid == plan.referenced_structure_set_uid]
        same = [s for s in sets if _same_frame(s.ref.frame_of_reference_uid, dose.ref.frame_of_reference_uid)]
        if named or same:
            return (named or same)[0], dose, plan
    raise InputError(f"study {study.uid}: the RT Dose ({doses[0].ref.path.name}) and the RT Structure Set "
                     f"({sets[0].ref.path.name}) lie on different Frames of Reference (another patient or an "
                     "unregistered image); DVHs need both in one frame")


def prepare(study: Study, progress: Optional[ProgressFn] = None) -> RtDoseInputs:
    """Read the contours and the dose grid of the study's plan."""
    from workstation.io.rt import load_contours, load_dose

    structure_set, dose, plan = pick(study)
    report(progress, 0.0, "reading contours")
    full = load_contours(structure_set)
    report(progress, 0.05, "reading the dose grid")
    return RtDoseInputs(full, dose, load_dose(dose), plan)


def example_study(folder: Path) -> None:
    """A small synthetic chest plan (CT, structures, plan, dose, influence matrix), as DICOM."""
    from workstation.analyses.rt_dose.demo_plan import write_demo_plan

    write_demo_plan(folder, size=96, pixel_mm=3.6, n_slices=30, dose_mm=6.0, beamlet_mm=8.0, iterations=30)
