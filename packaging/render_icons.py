"""Render the application icon (resources/icons/workstation.svg) to the PNG sizes desktops use.

    python packaging/render_icons.py [--check]

Writes ``resources/icons/workstation-<N>.png`` for each size of :data:`SIZES` (the
freedesktop hicolor theme's application sizes) with Qt's SVG renderer; ``--check``
renders again and exits 1 when a committed PNG differs from its SVG (the tests run it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SVG = ICONS / "workstation.svg"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
TOLERANCE = 8  # largest channel difference accepted between renderings (Qt versions antialias alike)


def render(size: int) -> QImage:
    """The icon at ``size`` x ``size`` pixels, transparent around the tile."""
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {SVG} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def differs(a: QImage, b: QImage) -> bool:
    a = a.convertToFormat(QImage.Format.Format_ARGB32)
    b = b.convertToFormat(QImage.Format.Format_ARGB32)
    if a.size() != b.size():
        return True
    pa, pb = bytes(a.constBits()), bytes(b.constBits())  # type: ignore[call-overload]
    return max(abs(x - y) for x, y in zip(pa, pb)) > TOLERANCE


def main(argv: list[str]) -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QImage/QPainter need it
    stale = []
    for size in SIZES:
        path = ICONS / f"workstation-{size}.png"
        image = render(size)
        if "--check" in argv:
            if not path.is_file() or differs(QImage(str(path)), image):
                stale.append(path.name)
        elif not image.save(str(path), "PNG"):
            raise SystemExit(f"render_icons: cannot write {path}")
    if stale:
        print(f"render_icons: out of date with {SVG.name}: {', '.join(stale)} (run packaging/render_icons.py)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
