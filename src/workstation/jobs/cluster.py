"""The Dask cluster the queue's workers form: on this machine, or an existing scheduler.

On one machine (:func:`start_local`): one worker process per GPU slot, pinned with
``CUDA_VISIBLE_DEVICES`` and declaring the resource ``GPU=1``, as many per GPU as its
memory allows (:func:`plan_local`, at least one), plus CPU-only workers
(``CUDA_VISIBLE_DEVICES`` empty, resource ``CPU=1``).  With dask-cuda installed its
``LocalCUDACluster`` makes the GPU workers (one process per GPU, one thread per slot);
without it a ``SpecCluster`` of nannies does.  The scheduler and workers listen on
loopback only.  Across machines the same queue code connects to an existing scheduler
(``tcp://host:8786``), whose workers were started, e.g., with
``CUDA_VISIBLE_DEVICES=0 dask worker tcp://host:8786 --nthreads 1 --resources GPU=1``.

Starting processes this way needs the calling script to guard its top level with
``if __name__ == "__main__":`` (workers are spawned, and import the main module).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from workstation.compute.devices import GpuSample
from workstation.jobs.placement import budget_from, workers_per_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerPlan:
    """One worker process: its name, ``gpu`` or ``cpu``, and the GPU it is pinned to."""

    name: str
    kind: str
    device: str = ""
    threads: int = 1  # CPU threads its libraries (BLAS, ONNX Runtime) may use

    @property
    def resources(self) -> dict[str, float]:
        return {"GPU": 1} if self.kind == "gpu" else {"CPU": 1}

    @property
    def env(self) -> dict[str, str]:
        env = {"WORKSTATION_WORKER": self.name, "CUDA_VISIBLE_DEVICES": self.device if self.kind == "gpu" else "",
               "CUDA_DEVICE_ORDER": "PCI_BUS_ID",  # CUDA numbers the GPUs as nvidia-smi and NVML do
               "WORKSTATION_ORT_THREADS": str(self.threads)}
        if self.kind == "cpu":
            env["WORKSTATION_DEVICE"] = "cpu"
        return env


def share_cores(plan: list[WorkerPlan], cores: int) -> list[WorkerPlan]:
    threads = max(1, cores // max(len(plan), 1))
    return [dataclasses.replace(p, threads=threads) for p in plan]


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def plan_local(gpus: Sequence[GpuSample], *, estimate: int = 0, per_gpu: Optional[int] = None,
               cpu_workers: Optional[int] = None, cores: Optional[int] = None) -> list[WorkerPlan]:
    """Worker processes for this machine.

    Per GPU: ``per_gpu`` if given, else as many as budgets of ``estimate`` bytes fit in
    the GPU's budget (:func:`~workstation.jobs.placement.workers_per_device`), at most
    the cores per GPU.  CPU workers: ``cpu_workers`` if given, else one beside GPUs (for
    jobs that ask for the CPU) and the cores (at most 4) where there is no GPU.
    """
    cores = cores or usable_cores()
    plan: list[WorkerPlan] = []
    for g in gpus:
        cap = max(1, cores // max(len(gpus), 1))
        n = per_gpu if per_gpu is not None else workers_per_device(
            budget_from(g.memory_total, g.memory_used), estimate, cap)
        plan += [WorkerPlan(f"gpu{g.index}-{k}", "gpu", str(g.index)) for k in range(max(1, n))]
    n_cpu = cpu_workers if cpu_workers is not None else (1 if gpus else min(4, cores))
    plan += [WorkerPlan(f"cpu-{k}", "cpu") for k in range(n_cpu)]
    return share_cores(plan, cores)


def _nanny(plan: WorkerPlan) -> dict[str, Any]:
    from distributed import Nanny

    return {"cls": Nanny, "options": {"nthreads": 1, "resources": plan.resources, "env": plan.env,
                                      "name": plan.name, "host": "127.0.0.1"}}


def start_local(plan: Sequence[WorkerPlan], *, use_dask_cuda: Optional[bool] = None) -> Any:
    """A client of a new cluster of ``plan``'s workers on this machine (close it when done;
    closing the client closes the cluster)."""
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")  # workers inherit it: no start-up chatter
    logging.getLogger("distributed").setLevel(logging.ERROR)
    from distributed import Client

    import dask

    gpu = [p for p in plan if p.kind == "gpu"]
    threads = str(min(p.threads for p in plan)) if plan else "1"
    limits = {v: threads for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": limits}):  # before NumPy loads in a worker
        cuda_cluster = _dask_cuda_cluster(gpu) if gpu and use_dask_cuda is not False else None
        if cuda_cluster is not None:
            cluster = cuda_cluster
            for p in plan:
                if p.kind == "cpu":
                    cluster.worker_spec[p.name] = _nanny(p)
            cluster.scale(len(cluster.worker_spec))
        else:
            from distributed import Scheduler, SpecCluster

            cluster = SpecCluster(workers={p.name: _nanny(p) for p in plan},
                                  scheduler={"cls": Scheduler, "options": {"dashboard_address": None,
                                                                           "host": "127.0.0.1"}},
                                  silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    client.wait_for_workers(len(plan), timeout=120)
    return client


def _dask_cuda_cluster(gpu: Sequence[WorkerPlan]) -> Any:
    """dask-cuda's ``LocalCUDACluster`` for the GPU slots (``None`` where it is not installed)."""
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError:
        return None
    devices = sorted({p.device for p in gpu}, key=lambda d: (len(d), d))
    slots = max(sum(1 for p in gpu if p.device == d) for d in devices)
    log.info("dask-cuda: one worker per GPU (%s), %d thread(s) each", ",".join(devices), slots)
    return LocalCUDACluster(CUDA_VISIBLE_DEVICES=",".join(devices), threads_per_worker=slots,
                            resources={"GPU": slots}, dashboard_address=None, host="127.0.0.1",
                            silence_logs=logging.ERROR)


def connect(spec: str, plan: Optional[Sequence[WorkerPlan]] = None) -> Any:
    """A client for ``--dask`` ``SPEC``: ``local`` (this machine, ``plan``), ``local:N``
    (N CPU workers) or the address of an existing scheduler."""
    if spec.startswith("local"):
        _, _, count = spec.partition(":")
        if count:
            return start_local(share_cores([WorkerPlan(f"cpu-{k}", "cpu") for k in range(int(count))],
                                            usable_cores()))
        return start_local(plan or plan_local([]))
    from distributed import Client

    return Client(spec, set_as_default=False)


def close(client: Any) -> None:
    """Close ``client`` and the cluster it started (an existing scheduler stays up)."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()
