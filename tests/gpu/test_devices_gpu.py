"""The monitor against ``nvidia-smi``, the health check and memory placement on a real GPU."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from workstation.compute import devices as dev
from workstation.compute.backend import Backend

pytestmark = pytest.mark.gpu

QUERY = "index,name,uuid,memory.total,memory.used,temperature.gpu,power.draw"


def _nvidia_smi() -> list[list[str]]:
    if shutil.which("nvidia-smi") is None:
        pytest.skip("nvidia-smi is not installed")
    out = subprocess.run(["nvidia-smi", f"--query-gpu={QUERY}", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return [[c.strip() for c in line.split(",")] for line in out.strip().splitlines()]


def test_nvml_values_agree_with_nvidia_smi(gpu: Backend) -> None:
    pytest.importorskip("pynvml")
    dev.reset_nvml()
    rows = _nvidia_smi()
    samples = dev.sample_devices()
    assert len(samples) == len(rows)
    for s, (index, name, uuid, total_mib, used_mib, temp, power) in zip(samples, rows):
        assert (s.index, s.name, s.uuid) == (int(index), name, uuid)
        assert abs(s.memory_total / 2**20 - float(total_mib)) <= 1.0
        assert abs(s.memory_used / 2**20 - float(used_mib)) <= 512.0  # other processes allocate meanwhile
        assert s.memory_used + s.memory_free <= s.memory_total
        if temp not in ("[N/A]", "N/A"):
            assert s.temperature_c is not None and abs(s.temperature_c - int(temp)) <= 3
        if power not in ("[N/A]", "N/A"):
            assert s.power_w is not None and abs(s.power_w - float(power)) <= 0.25 * float(power) + 20.0
    print(dev.format_table(samples))


def test_health_check_passes_on_a_working_gpu(gpu: Backend) -> None:
    from workstation.compute.health import health_check

    index = gpu.device_id or 0
    health = health_check(index)
    assert health.ok, health.message
    assert health.device == f"cuda:{index}" and health.seconds > 0.0  # (a cold start compiles: no time bound)


def test_a_job_reserves_its_estimate_and_runs_on_the_gpu(gpu: Backend, tmp_path: Path) -> None:
    from workstation.demo.chest_ct import write_chest_ct
    from workstation.io.dicom import scan
    from workstation.jobs.execute import run_study
    from workstation.jobs.gpu_ledger import GpuLedger
    from workstation.jobs.job_exec import GpuGate, JobSpec, local_gpus
    from workstation.jobs.study_ref import StudyRef

    write_chest_ct(tmp_path / "ct", seed=0, n_slices=48)
    study = scan([tmp_path / "ct"]).studies[0]
    devices = local_gpus()
    assert devices and all(d.key.startswith(("GPU-", "MIG-", "gpu-")) for d in devices)
    import os

    if "CUDA_VISIBLE_DEVICES" not in os.environ and dev.sample_devices():  # found among NVML's by PCI bus
        by_bus = {s.pci_bus: s.uuid for s in dev.sample_devices()}
        import cupy

        assert devices[0].key == by_bus[dev.bus_key(cupy.cuda.runtime.deviceGetPCIBusId(0))]
    ledger = GpuLedger(tmp_path / "ledger.sqlite")
    held: list[dict[str, int]] = []

    class Reporter:
        def progress(self, fraction: float, message: str) -> None:
            held.append(ledger.held())

        def note(self, kind: str, message: str) -> None:
            raise AssertionError(message)

    spec = JobSpec(1, "calcium", StudyRef.of(study), {}, str(tmp_path / "out"))
    gate = GpuGate(spec, Reporter(), ledger, devices)  # type: ignore[arg-type]
    outcome = run_study("calcium", study, tmp_path / "out", progress=Reporter().progress, gate=gate)
    assert outcome.ok and outcome.device.startswith("cuda"), outcome.message
    assert any(h for h in held) and ledger.held() == {}  # held while it ran, given back after
    cpu = run_study("calcium", study, tmp_path / "cpu", device="cpu")
    import json

    gpu_record = json.loads(Path(outcome.files[0]).read_text())
    cpu_record = json.loads(Path(cpu.files[0]).read_text())
    assert gpu_record["agatston_total"] == cpu_record["agatston_total"]
