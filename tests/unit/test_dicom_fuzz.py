"""A seeded fuzz corpus for the DICOM reader: hostile files beside a good series.

Mutants of every kind (see :mod:`dicom_mutants`) are grouped nine to a folder, one of
each kind, beside hard links to one good 16-slice series whose files are older than
the mutants (as an archive's originals are older than their copies).  For every
folder: ``scan`` and ``load_series`` raise nothing but ``DicomReadError``; the memory
traced while reading stays within a small multiple of the folder's bytes; the good
series loads bit-exactly; and every mutant is accounted for: named in the load report
with a reason, or read as a valid object of its own (a damaged compressed sample can
still decode), or named by the ``DicomReadError`` of its own series.  A faulthandler
watchdog ends the run, with tracebacks, if reading ever hangs; nothing is timed.
"""

from __future__ import annotations

import faulthandler
import os
import shutil
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dicom_cases as cases
import dicom_mutants as mutants
import numpy as np
import pydicom
import pytest

from workstation.io.dicom import DicomReadError, load_series, scan
from workstation.io.dicom_scan import UNEXPECTED

PER_KIND = 30
SEED = 20240611
MEMORY_FACTOR = 8  # traced bytes per byte of the folder's files
MEMORY_SLACK = 4 * 2**20
WATCHDOG_S = 600


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Path], np.ndarray, list]]:
    root = tmp_path_factory.mktemp("fuzz")
    good = cases.write(cases.volume(shape=(16, 64, 64), seed=5), root / "good")
    past = time.time() - 30 * 86400
    for p in good:
        os.utime(p, (past, past))
    reference = load_series(scan(root / "good").series[0]).array
    compressed = [Path(cases.data_file(name)) for name in mutants.COMPRESSED_SAMPLES]
    corpus = mutants.generate(good, compressed, PER_KIND, seed=SEED)
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
    try:
        yield root, good, reference, corpus
    finally:
        faulthandler.cancel_dump_traceback_later()


def _folder(root: Path, name: str, good: list[Path], group: list[mutants.Mutant]) -> Path:
    folder = root / name
    folder.mkdir()
    for p in good:
        try:
            os.link(p, folder / p.name)
        except OSError:
            shutil.copy2(p, folder / p.name)
    now = time.time()
    for m in group:
        (folder / f"{m.name}.dcm").write_bytes(m.data)
        os.utime(folder / f"{m.name}.dcm", (now, now))  # copies of one age: ties go by name, reproducibly
    return folder


def _outcome(name: str, result, loads: dict[str, object], good_uid: str) -> str:
    """How the scan and the loads accounted for mutant file ``name``."""
    problems = [p.reason for p in result.problems if p.path.name == name]
    if problems:
        assert problems[0] and not problems[0].startswith(UNEXPECTED), (name, problems)
        return "named in the load report"
    if any(o.path.name == name for o in result.other):
        return "read as a non-image object"
    for series in result.series:
        if not any(f.path.name == name for f in series.frames):
            continue
        assert series.uid != good_uid, f"{name} entered the good series"
        loaded = loads[series.uid]
        if isinstance(loaded, DicomReadError):
            assert loaded.path.name == name, (name, loaded)
            return "its series fails with a DicomReadError naming it"
        skipped = [Path(p).name for p, _ in loaded.meta["skipped_files"]]  # type: ignore[attr-defined]
        return "left out of its series by name" if name in skipped else "loads as a series of its own"
    raise AssertionError(f"{name} is accounted for nowhere")


def _read(folder: Path) -> tuple[object, dict[str, object], int]:
    """Scan and load every series of ``folder``; return the result, loads and the traced peak."""
    tracemalloc.start()
    try:
        result = scan(folder)
        loads: dict[str, object] = {}
        for series in result.series:
            try:
                loads[series.uid] = load_series(series, workers=1)
            except DicomReadError as exc:
                loads[series.uid] = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, loads, peak


def test_every_mutant_beside_a_good_series(corpus, tmp_path: Path) -> None:
    _, good, reference, all_mutants = corpus
    good_uid = str(pydicom.dcmread(good[0], stop_before_pixels=True).SeriesInstanceUID)
    _read(_folder(tmp_path, "warm-up", good, []))  # caches (dictionaries, codecs) outside the measure
    outcomes: Counter[tuple[str, str]] = Counter()
    peaks = []
    for start in range(0, len(all_mutants), len(mutants.KINDS)):
        group = all_mutants[start: start + len(mutants.KINDS)]
        folder = _folder(tmp_path, f"group-{start:04d}", good, group)
        size = sum(p.stat().st_size for p in folder.iterdir())
        result, loads, peak = _read(folder)
        assert peak <= MEMORY_FACTOR * size + MEMORY_SLACK, (folder.name, peak, size)
        peaks.append((peak, size))
        (good_series,) = [s for s in result.series if s.uid == good_uid]
        assert sorted(f.path.name for f in good_series.frames) == sorted(p.name for p in good)
        volume = loads[good_uid]
        assert not isinstance(volume, DicomReadError), volume
        np.testing.assert_array_equal(volume.array, reference)  # type: ignore[attr-defined]
        for m in group:
            outcomes[(m.kind, _outcome(f"{m.name}.dcm", result, loads, good_uid))] += 1
        shutil.rmtree(folder)
    _print_figures(outcomes, peaks, len(all_mutants))
    assert sum(outcomes.values()) == len(all_mutants) == PER_KIND * len(mutants.KINDS)
    for kind in mutants.KINDS:  # every kind produced faults the reader caught by name
        assert outcomes[(kind, "named in the load report")] > 0, kind


def test_all_mutants_in_one_folder_give_a_report(corpus, tmp_path: Path) -> None:
    _, _, _, all_mutants = corpus
    folder = tmp_path / "all"
    folder.mkdir()
    for m in all_mutants:
        (folder / f"{m.name}.dcm").write_bytes(m.data)
    result, loads, _ = _read(folder)
    seen = {p.path.name for p in result.problems} | {o.path.name for o in result.other}
    seen |= {f.path.name for s in result.series for f in s.frames}
    assert seen == {f"{m.name}.dcm" for m in all_mutants}
    assert not [p for p in result.problems if p.reason.startswith(UNEXPECTED)]
    assert len(loads) == len(result.series)


def _print_figures(outcomes: Counter[tuple[str, str]], peaks: list[tuple[int, int]], n: int) -> None:
    peak, size = max(peaks)
    lines = [
        f"fuzz corpus: {n} mutants, {len(mutants.KINDS)} kinds, seed {SEED}; largest traced peak "
        f"{peak / 2**20:.1f} MiB for a folder of {size / 1024:.0f} kB (limit {MEMORY_FACTOR} x + 4 MiB)",
    ]
    for (kind, outcome), count in sorted(outcomes.items()):
        lines.append(f"  {kind:20s} {outcome:50s} {count:4d}")
    print("\n".join(lines), file=sys.stderr)
