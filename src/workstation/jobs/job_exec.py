"""Running one queued job where a worker is: its GPUs, its memory gate, its reports.

:func:`execute_job` is the unit of work of every worker (a Dask worker process, a
thread of ``workstation-batch queue work``, the desktop application): it reads the
study again from its files, runs the analysis through
:func:`~workstation.jobs.execute.run_study` (same outputs as ``workstation-batch run``)
and reports what happens through a :class:`Reporter`.

GPU placement happens inside the run, once the inputs are prepared (decoding needs no
GPU): :class:`GpuGate` health-checks the GPUs this process may use (those named by
``CUDA_VISIBLE_DEVICES``; a failing one leaves the rotation with a message), asks the
analysis's ``estimate_memory`` for the bytes it needs and reserves them in the host's
:class:`~workstation.jobs.gpu_ledger.GpuLedger`, then hands the chosen GPU's backend to
the run and gives the memory back (CuPy's pool included) when it ends.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional, Protocol

from workstation.compute.backend import Backend, cpu_backend, select_backend
from workstation.compute.health import ROTATION, Rotation
from workstation.core.progress import Partial, ProgressSink
from workstation.jobs.execute import StudyOutcome, run_study
from workstation.jobs.gpu_ledger import GpuLedger, LedgerDevice
from workstation.jobs.placement import budget_from
from workstation.jobs.study_ref import StudyNotFound, StudyRef

#: Bytes assumed for an analysis that gives no estimate.
DEFAULT_ESTIMATE = 2 * 2**30


@dataclass(frozen=True)
class JobSpec:
    """What a worker needs to run a job (picklable; no database handle)."""

    id: int
    analysis: str
    study_ref: StudyRef
    params: Mapping[str, Any]
    out_dir: str
    device: str = "auto"
    may_fall_back: bool = True


@dataclass(frozen=True)
class JobResult:
    """A job's outcome and where it ran."""

    job_id: int
    outcome: StudyOutcome
    worker: str = ""
    cancelled: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


class Reporter(Protocol):
    """How a running job talks to whoever dispatched it."""

    def started(self, worker: str, device: str) -> None: ...

    def progress(self, fraction: float, message: str) -> None:
        """Raises :class:`~workstation.core.progress.Cancelled` once the job is to stop."""

    def partial(self, partial: Partial) -> None: ...

    def note(self, kind: str, message: str) -> None:
        """Something the dispatcher should tell the user (a GPU out of rotation)."""

    @property
    def cancel_requested(self) -> bool: ...


def worker_name() -> str:
    return os.environ.get("WORKSTATION_WORKER") or f"{socket.gethostname()}:{os.getpid()}"


def _physical_ids() -> Optional[list[str]]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return None if visible is None else [v.strip() for v in visible.split(",") if v.strip()]


def local_gpus() -> list[LedgerDevice]:
    """The GPUs this process may use (``WORKSTATION_DEVICE=cuda:N`` keeps only N), each
    identified across processes by its NVML UUID, found by PCI bus ID (CUDA's numbering
    may differ from NVML's)."""
    from workstation.compute.backend import ENV_VAR, parse_device
    from workstation.compute.devices import bus_key, sample_devices

    try:
        kind, only = parse_device(os.environ.get(ENV_VAR, "") or "auto")
    except ValueError:
        kind, only = "auto", 0
    physical = _physical_ids()
    if kind == "cpu" or (physical is not None and not physical):
        return []
    try:
        import cupy

        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no CuPy, no driver: no GPU here
        return []
    samples = sample_devices()
    by_bus = {s.pci_bus: s for s in samples if s.pci_bus}
    by_id = {**{str(s.index): s for s in samples}, **{s.uuid: s for s in samples}}
    pinned = os.environ.get(ENV_VAR, "").strip().lower().startswith("cuda:")
    devices = []
    for i in range(count):
        if pinned and i != only:
            continue
        try:
            sample = by_bus.get(bus_key(str(cupy.cuda.runtime.deviceGetPCIBusId(i))))
        except Exception:
            sample = None
        pid = physical[i] if physical is not None and i < len(physical) else str(i)
        sample = sample or by_id.get(pid)
        key = sample.uuid if sample is not None and sample.uuid else f"gpu-{socket.gethostname()}-{pid}"
        devices.append(LedgerDevice(key, i, _measure(i, sample.index if sample is not None else None)))
    return devices


def _measure(index: int, physical: Optional[int]) -> Any:
    def measure() -> int:
        if physical is not None:
            from workstation.compute.devices import sample_devices

            for s in sample_devices():
                if s.index == physical:
                    return budget_from(s.memory_total, s.memory_used)
        import cupy

        with cupy.cuda.Device(index):
            free, total = cupy.cuda.runtime.memGetInfo()
        return budget_from(int(total), int(total) - int(free))

    return measure


def physical_label(index: int) -> str:
    """``cuda:N`` with N the device's index on the machine (as ``nvidia-smi`` numbers it)."""
    physical = _physical_ids()
    if physical is not None and index < len(physical) and physical[index].isdigit():
        return f"cuda:{physical[index]}"
    return f"cuda:{index}"


class GpuGate:
    """The ``gate`` of :func:`~workstation.jobs.execute.run_study` for one job."""

    def __init__(self, spec: JobSpec, reporter: Reporter, ledger: Optional[GpuLedger] = None,
                 devices: Optional[list[LedgerDevice]] = None, rotation: Optional[Rotation] = None) -> None:
        self.spec, self.reporter = spec, reporter
        self.ledger = ledger or GpuLedger()
        self._devices = devices
        self.rotation = rotation or ROTATION
        self.notes: list[str] = []
        self.device_label = "cpu"

    def _candidates(self) -> list[LedgerDevice]:
        wanted = self.spec.device.strip().lower()
        if wanted == "cpu":
            return []
        devices = self._devices if self._devices is not None else local_gpus()
        if wanted.startswith("cuda:") and wanted[5:].isdigit():
            devices = [d for d in devices if d.index == int(wanted[5:])]
        healthy = []
        for d in devices:
            health = self.rotation.usable(d.index)
            if health.ok:
                healthy.append(d)
            else:
                self.reporter.note("rotation", f"GPU {physical_label(d.index)} taken out of rotation: health check "
                                               f"failed: {health.message}")
        if devices and not healthy:
            self.notes.append("no GPU passed its health check: ran on the CPU")
        return healthy

    @contextmanager
    def __call__(self, analysis: Any, inputs: Any, params: Any) -> Iterator[Backend]:
        candidates = self._candidates()
        if not candidates:
            yield cpu_backend()
            return
        probe = select_backend(f"cuda:{candidates[0].index}")
        estimate = (int(analysis.estimate_memory(inputs, params, probe)) if analysis.estimate_memory is not None
                    else DEFAULT_ESTIMATE)
        reservation, choice = self.ledger.reserve(
            candidates, estimate, job=str(self.spec.id), waiting=lambda why: self.reporter.progress(0.0, why))
        if reservation is None:
            self.notes.append(choice.reason)
            yield cpu_backend(reason=choice.reason)
            return
        index = reservation.device.index
        try:
            backend = select_backend(f"cuda:{index}")
            self.device_label = physical_label(index) if backend.is_gpu else "cpu"
            yield backend
        except Exception:
            self.rotation.suspect(index)  # a CUDA fault: check the GPU again before its next job
            raise
        finally:
            _free_pool(index)
            reservation.release()


def _free_pool(index: int) -> None:
    try:
        import cupy

        with cupy.cuda.Device(index):
            cupy.get_default_memory_pool().free_all_blocks()
    except Exception:
        pass


def execute_job(spec: JobSpec, reporter: Reporter, *, ledger: Optional[GpuLedger] = None,
                devices: Optional[list[LedgerDevice]] = None, rotation: Optional[Rotation] = None) -> JobResult:
    """Run ``spec`` here; never raises for a bad study or a failed run (the outcome says)."""
    from workstation.core.redact import redact

    worker = worker_name()
    reporter.started(worker, "")
    t0 = time.perf_counter()
    try:
        study = spec.study_ref.load()
    except StudyNotFound as exc:
        return JobResult(spec.id, StudyOutcome(spec.study_ref.uid, False, 0.0, message=redact(str(exc))), worker)
    headers_s = time.perf_counter() - t0
    gate = GpuGate(spec, reporter, ledger, devices, rotation)
    sink = ProgressSink(reporter.progress, reporter.partial)
    outcome = run_study(spec.analysis, study, spec.out_dir, params=spec.params, progress=sink, gate=gate,
                        cpu_fallback=spec.may_fall_back)
    timings = {**outcome.timings, "decode": outcome.timings.get("decode", 0.0) + headers_s}  # headers read too
    outcome = dataclasses.replace(outcome, seconds=outcome.seconds + headers_s, timings=timings)
    if outcome.ok and outcome.device.startswith("cuda"):
        outcome = dataclasses.replace(outcome, device=gate.device_label)
    if gate.notes:
        outcome = dataclasses.replace(outcome, message="; ".join([*gate.notes, outcome.message]).strip("; "))
    return JobResult(spec.id, outcome, worker, cancelled=reporter.cancel_requested and not outcome.ok,
                     notes=tuple(gate.notes))
