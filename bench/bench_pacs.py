"""Benchmark: retrieve a 300-slice 512x512 CT from a local Orthanc, ours vs dcmtk.

Writes (once, into ``--folder``) a CT series of ``--slices`` int16 slices and a study of
four series holding the same number of slices in all, starts Orthanc (Debian ``orthanc``
and ``orthanc-dicomweb``) on free loopback ports with its storage in a temporary folder,
uploads both over REST, then times, best of ``--repeats``, each into an empty folder:

* ours: C-GET, C-MOVE (to our storage SCP), WADO-RS (multipart, instances as stored),
  through :func:`workstation.io.pacs.retrieve.retrieve` (instance listing included);
* pynetdicom alone: a C-GET of the series writing each instance as received;
* dcmtk 3.6.7: ``getscu`` and ``movescu`` (Debian ``dcmtk``) on the same series, with
  ``TCP_NODELAY=1`` (and ``getscu`` once without it, DCMTK's default);
* the four-series study: ours one series after the other and four at a time (C-GET
  and WADO-RS), and ``getscu`` of the whole study.

Prints a markdown table: seconds, MB/s and the ratio to ``getscu`` (above 1: faster).
Usage::

    python bench/bench_pacs.py [--slices 300] [--size 512] [--repeats 3] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from orthanc_server import Orthanc, free_port, start_orthanc

OUR_AE, MOVESCU_AE = "WSBENCH", "MOVESCU"


def write_studies(folder: Path, slices: int, size: int) -> dict[str, Path]:
    """The single-series CT and the four-series study (written once, reused)."""
    from pydicom.uid import generate_uid

    from workstation.core.volume import Volume
    from workstation.io.dicom_write import patient_tags, write_series

    done = folder / ".complete"
    single, multi = folder / "single", folder / "multi"
    if done.exists():
        return {"single": single, "multi": multi}
    shutil.rmtree(folder, ignore_errors=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    body = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (0.42 * size) ** 2

    def volume(n: int) -> Volume:
        array = np.empty((n, size, size), np.int16)
        for k in range(n):
            array[k] = np.where(body, 40, -1000) + rng.integers(-30, 31, (size, size))
        return Volume(array=array, spacing=(1.0, 0.7, 0.7), origin=(-180.0, -180.0, 0.0), modality="CT")

    write_series(volume(slices), single, tags=patient_tags("Bench^Single", "BENCH-1"))
    study = generate_uid()
    for k in range(4):
        write_series(volume(slices // 4), multi / f"s{k}", study_uid=study, series_number=k + 1,
                     tags=patient_tags("Bench^Multi", "BENCH-4"))
    done.write_text("ok\n")
    return {"single": single, "multi": multi}


def uids(folder: Path) -> tuple[str, list[str]]:
    import pydicom

    series: dict[str, None] = {}
    study = ""
    for path in sorted(folder.rglob("*.dcm")):
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["StudyInstanceUID", "SeriesInstanceUID"])
        study = str(ds.StudyInstanceUID)
        series[str(ds.SeriesInstanceUID)] = None
    return study, list(series)


def timed(fn: Callable[[Path], Any], repeats: int) -> tuple[float, int, int]:
    """Best seconds of ``fn(empty folder)``, with the files and bytes it left there."""
    best, files, size = float("inf"), 0, 0
    for _ in range(repeats):
        out = Path(tempfile.mkdtemp(prefix="bench-pacs-"))
        try:
            start = time.perf_counter()
            fn(out)
            best = min(best, time.perf_counter() - start)
            found = [p for p in out.rglob("*") if p.is_file()]
            files, size = len(found), sum(p.stat().st_size for p in found)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return best, files, size


def ours(orthanc: Orthanc, method: str, study: str, series: list[str] | None, parallel: int,
         server: Any) -> Callable[[Path], Any]:
    from workstation.io.pacs.client import connect
    from workstation.io.pacs.nodes import Auth, DicomWebNode, DimseNode, LocalAE
    from workstation.io.pacs.retrieve import retrieve
    from workstation.io.pacs.transfer import FolderDestination

    if method == "wado":
        node: Any = DicomWebNode("", orthanc.dicomweb_url, Auth())
    else:
        node = DimseNode("", orthanc.aet, "127.0.0.1", orthanc.dicom_port, retrieve=method)
    client = connect(node, LocalAE(OUR_AE, server.port), server)

    def run(out: Path) -> None:
        report = retrieve(client, study, FolderDestination(out), series_uids=series, parallel=parallel)
        assert report.complete, f"{report.missing} instances missing"

    return run


def pynetdicom_get(orthanc: Orthanc, study: str, series: str) -> Callable[[Path], Any]:
    """A plain pynetdicom C-GET of the series, each instance written as received.

    ``event.encoded_dataset()`` (no decoding), CT contexts only: pynetdicom's fastest
    path, the one our C-GET used before it moved to its own upper layer.
    """
    from pydicom.dataset import Dataset
    from pynetdicom import AE, build_role, evt

    ct, get_model = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.2.2.3"

    def run(out: Path) -> None:
        def on_store(event: Any) -> int:
            (out / f"{event.request.AffectedSOPInstanceUID}.dcm").write_bytes(event.encoded_dataset())
            return 0x0000

        ae = AE(ae_title=OUR_AE)
        ae.maximum_pdu_size = 0
        ae.add_requested_context(get_model)
        ae.add_requested_context(ct)
        identifier = Dataset()
        identifier.QueryRetrieveLevel, identifier.StudyInstanceUID, identifier.SeriesInstanceUID = "SERIES", study, series
        assoc = ae.associate("127.0.0.1", orthanc.dicom_port, ae_title=orthanc.aet,
                             ext_neg=[build_role(ct, scp_role=True)], evt_handlers=[(evt.EVT_C_STORE, on_store)])
        assert assoc.is_established
        for _ in assoc.send_c_get(identifier, get_model):
            pass
        assoc.release()

    return run


def dcmtk(orthanc: Orthanc, tool: str, study: str, series: str | None, nodelay: bool = True) -> Callable[[Path], Any]:
    """``getscu``/``movescu`` on the series (or study); ``nodelay``: with ``TCP_NODELAY=1``.

    DCMTK leaves Nagle's algorithm on unless that variable is set; on loopback its
    small PDUs then wait for delayed ACKs (about 10x slower).
    """
    env = {**os.environ, "TCP_NODELAY": "1" if nodelay else "0"}
    keys = ["-k", f"QueryRetrieveLevel={'SERIES' if series else 'STUDY'}", "-k", f"StudyInstanceUID={study}"]
    if series:
        keys += ["-k", f"SeriesInstanceUID={series}"]
    common = ["-S", "-aec", orthanc.aet, "127.0.0.1", str(orthanc.dicom_port), *keys]

    def run(out: Path) -> None:
        if tool == "getscu":
            command = ["getscu", "-aet", "GETSCU", *common, "-od", str(out)]
        else:
            port = orthanc.config["_movescu_port"]
            command = ["movescu", "-aet", MOVESCU_AE, "-aem", MOVESCU_AE, "--port", str(port), *common,
                       "-od", str(out)]
        subprocess.run(command, check=True, capture_output=True, timeout=600, env=env)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "bench-pacs-studies")
    args = parser.parse_args(argv)
    for tool in ("getscu", "movescu"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: install the Debian package dcmtk")
    studies = write_studies(args.folder, args.slices, args.size)
    from workstation.io.pacs.nodes import LocalAE
    from workstation.io.pacs.scp import StoreServer

    work = Path(tempfile.mkdtemp(prefix="bench-orthanc-"))
    orthanc = start_orthanc(work, users=False)
    try:
        for folder in studies.values():
            orthanc.upload(sorted(folder.rglob("*.dcm")))
        single_study, (single_series,) = uids(studies["single"])
        multi_study, _ = uids(studies["multi"])
        our_port, movescu_port = free_port(), free_port()
        orthanc.register_modality("bench", OUR_AE, our_port)
        orthanc.register_modality("movescu", MOVESCU_AE, movescu_port)
        orthanc.config["_movescu_port"] = movescu_port
        with StoreServer(LocalAE(OUR_AE, our_port, "127.0.0.1")) as server:
            cases = [
                ("1 series", "ours C-GET", ours(orthanc, "get", single_study, None, 1, server)),
                ("1 series", "ours C-MOVE", ours(orthanc, "move", single_study, None, 1, server)),
                ("1 series", "ours WADO-RS", ours(orthanc, "wado", single_study, None, 1, server)),
                ("1 series", "pynetdicom C-GET", pynetdicom_get(orthanc, single_study, single_series)),
                ("1 series", "dcmtk getscu", dcmtk(orthanc, "getscu", single_study, single_series)),
                ("1 series", "dcmtk movescu", dcmtk(orthanc, "movescu", single_study, single_series)),
                ("1 series", "dcmtk getscu, TCP_NODELAY unset",
                 dcmtk(orthanc, "getscu", single_study, single_series, nodelay=False)),
                ("4 series", "ours C-GET, 1 at a time", ours(orthanc, "get", multi_study, None, 1, server)),
                ("4 series", "ours C-GET, 4 in parallel", ours(orthanc, "get", multi_study, None, 4, server)),
                ("4 series", "ours WADO-RS, 1 at a time", ours(orthanc, "wado", multi_study, None, 1, server)),
                ("4 series", "ours WADO-RS, 4 in parallel", ours(orthanc, "wado", multi_study, None, 4, server)),
                ("4 series", "dcmtk getscu (study)", dcmtk(orthanc, "getscu", multi_study, None)),
            ]
            results = [(study, name, *timed(fn, args.repeats)) for study, name, fn in cases]
    finally:
        orthanc.stop()
        shutil.rmtree(work, ignore_errors=True)
    reference = {study: seconds for study, name, seconds, _, _ in results
                 if name.startswith("dcmtk getscu") and "unset" not in name}
    print(f"{args.slices} slices of {args.size}x{args.size} int16, loopback, best of {args.repeats}\n")
    print("| study | method | files | MB | seconds | MB/s | getscu s / this s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for study, name, seconds, files, size in results:
        print(f"| {study} | {name} | {files} | {size / 1e6:.0f} | {seconds:.2f} | {size / 1e6 / seconds:.0f} | "
              f"{reference[study] / seconds:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
