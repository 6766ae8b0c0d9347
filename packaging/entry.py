"""Frozen entry point: ``workstation`` (GUI), ``workstation batch ...`` and ``workstation-batch``."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # Dask worker processes start this executable again
    from workstation.app import main

    sys.exit(main())
