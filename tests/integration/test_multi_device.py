"""The multi-device check as the device machines run it, here with two CPU-only worker pools
standing in for two devices: a worker killed mid-cohort, its job finished by the other pool,
results identical to an uninterrupted run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "multi_device.py"


def test_a_killed_worker_s_jobs_finish_on_the_other_pool_with_identical_results(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--mode", "cpu-pools", "--studies", "4", "--analyses",
                           "calcium", "--size", "256", "--cohort", str(tmp_path / "cohort")],
                          capture_output=True, text=True, timeout=600, cwd=SCRIPT.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = [line for line in proc.stdout.splitlines() if line.startswith("| cpu-pools |")]
    assert len(table) == 1
    cells = [c.strip() for c in table[0].strip("|").split("|")]
    assert cells[5] == "pool0-0" and "on pool1-0 (attempt 2)" in cells[6]
    assert cells[7] == "4/4" and cells[8] == "yes"
    assert proc.stdout.startswith("1. workstation-batch gpus\n")
