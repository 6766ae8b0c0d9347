"""``python -m workstation`` opens the desktop application."""

from __future__ import annotations

from workstation.app import main

if __name__ == "__main__":
    raise SystemExit(main())
