"""``workstation-batch gpus``: the machine's GPUs (NVML), optionally health-checked.

::

    workstation-batch gpus [--check]

Prints name, memory used/total and free, utilisation, temperature, power and ECC
error counts per GPU, or ``no GPU`` with the reason.  ``--check`` runs the health check
(allocate, a small kernel, compare with the CPU) on each and exits 1 when one fails.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from workstation.compute.health import Health

HELP = "list the GPUs (memory, utilisation, temperature, power, ECC errors)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="health-check each GPU (exit 1 if one fails)")


def main(args: argparse.Namespace) -> int:
    from workstation.compute.devices import format_table, sample_devices

    samples = sample_devices()
    health: Optional[dict[int, Health]] = None
    if args.check and samples:
        health = {s.index: check_physical(s.index) for s in samples}
    print(format_table(samples, health))
    return 1 if health and not all(h.ok for h in health.values()) else 0


def check_physical(physical: int) -> "Health":
    """Health-check the GPU NVML numbers ``physical`` (CUDA numbers it the same unless
    ``CUDA_VISIBLE_DEVICES`` says otherwise)."""
    from workstation.compute.health import Health, health_check

    if "CUDA_VISIBLE_DEVICES" not in os.environ:
        return health_check(physical)
    visible = [v.strip() for v in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if v.strip()]
    if str(physical) not in visible:
        return Health(f"cuda:{physical}", False, "hidden by CUDA_VISIBLE_DEVICES", 0.0)
    return health_check(visible.index(str(physical)))
