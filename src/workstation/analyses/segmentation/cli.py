"""``workstation-batch segmentation-models``: the segmentation models a batch run can use.

Lists the built-in models and the user's (``--models-dir``, else
``WORKSTATION_MODELS_DIR``), each with version, origin and intended use, and every fault
of the user's folder by model.  Exit status 0 when there is no fault, 1 otherwise, so an
installation can be checked from a script.
"""

from __future__ import annotations

import argparse

from workstation.analyses.segmentation.models import available_models

HELP = "list the segmentation models (built-in and the user's folder) and any faults of that folder"
TASK = "segmentation-3d"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models-dir", default=None, help="the user's models folder (default: WORKSTATION_MODELS_DIR)")


def main(args: argparse.Namespace) -> int:
    listing = available_models(args.models_dir, TASK)
    for choice in listing.choices:
        entry = choice.entry
        origin = "built-in" if choice.models_dir is None else f"from {choice.models_dir}"
        print(f"{entry.name} {entry.version} ({origin}): {entry.intended_use}")
    if not listing.choices:
        print("no segmentation model is usable")
    for problem in listing.problems:
        print(f"fault: {problem}")
    return 1 if listing.problems or not listing.choices else 0
