"""GPU-first medical imaging workstation.

Layers (imports only point down): ``ui`` > ``analyses`` > ``jobs`` > ``report`` >
``ml`` > ``compute`` > ``demo`` > ``io`` > ``core``.  Everything below ``ui`` (and
every ``analyses/*/logic.py``) runs without Qt.
"""

from __future__ import annotations

__version__ = "0.1.0"
