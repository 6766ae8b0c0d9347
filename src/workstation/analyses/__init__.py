"""Analysis plugins: one folder each, listed in :mod:`workstation.analyses.registry`."""

from __future__ import annotations

from workstation.analyses.base import Analysis, InputError
from workstation.analyses.registry import get, names

__all__ = ["Analysis", "InputError", "get", "names"]
