"""Parameters of a cardiac function run: the model, and what the reader may correct.

End-diastole and end-systole default to the largest and smallest LV volume; the basal
and apical slices at each default to what :mod:`.limits` finds.  Setting any of them
re-measures without segmenting again.  Slice numbers count from 0 in the stack's order
(the loader stacks along the slice normal; the panel shows which end is basal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from workstation.core.params import Params, param

DEFAULT_MODEL = "cardiac-cine"


@dataclass(frozen=True)
class CardiacParams(Params):
    """Parameters of a cardiac function run.

    Attributes
    ----------
    model, models_dir
        Registry name of the cine model and the user's models folder.
    batch_size
        Planes per network call.
    ed_phase, es_phase
        End-diastolic and end-systolic phase (0-based); ``None``: from the LV volume curve.
    basal_slice_ed, apical_slice_ed, basal_slice_es, apical_slice_es
        LV slice limits at ED and ES (0-based, inclusive); ``None``: automatic.
    basal_coverage
        Automatic basal limit: the most basal slice kept is the first whose LV blood pool
        is surrounded by myocardium over at least this fraction of its circumference (the
        clinical rule is half; 0.4 leaves a margin for the partial-volume border at the
        valve plane, where the section's rays may leave the pool through its edge pixels).
    density_g_per_ml
        Myocardial density for the LV mass.
    """

    model: str = param(DEFAULT_MODEL, label="Model", panel=False)
    models_dir: Optional[str] = param(None, panel=False)
    batch_size: int = param(32, lo=1, hi=512, label="Batch size")
    ed_phase: Optional[int] = param(None, lo=0, hi=999, label="ED phase", none_text="auto")
    es_phase: Optional[int] = param(None, lo=0, hi=999, label="ES phase", none_text="auto")
    basal_slice_ed: Optional[int] = param(None, lo=0, hi=999, label="Basal slice (ED)", none_text="auto")
    apical_slice_ed: Optional[int] = param(None, lo=0, hi=999, label="Apical slice (ED)", none_text="auto")
    basal_slice_es: Optional[int] = param(None, lo=0, hi=999, label="Basal slice (ES)", none_text="auto")
    apical_slice_es: Optional[int] = param(None, lo=0, hi=999, label="Apical slice (ES)", none_text="auto")
    basal_coverage: float = param(0.4, lo=0.0, hi=1.0, step=0.05, label="Basal myocardial coverage")
    density_g_per_ml: float = param(1.05, unit="g/ml", lo=1.0, hi=1.1, step=0.01, label="Myocardial density")
