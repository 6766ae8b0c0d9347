"""A small synthetic CT with known structures for the viewer tests (voxel indices)."""

from __future__ import annotations

import numpy as np
import pytest

from workstation.core.volume import Volume

# Synthetic CT geometry (z, y, x) and its structures, in voxel indices.
SHAPE = (40, 64, 80)
SPACING = (2.5, 0.8, 0.6)
BODY_HU = 40
SPHERE_HU = 300
SPHERE_CENTER = (20, 32, 40)
SPHERE_RADIUS = 8.0
CUBE_HU = 1200
CUBE = (slice(5, 11), slice(10, 20), slice(8, 18))  # toward low x = patient right


def synthetic_ct() -> Volume:
    """Air, a body block, a sphere (index space) and a dense cube near the patient's right."""
    z, y, x = np.indices(SHAPE)
    a = np.full(SHAPE, -1000, dtype=np.int16)
    a[:, 6:58, 4:76] = BODY_HU
    r2 = sum((c - c0) ** 2 for c, c0 in zip((z, y, x), SPHERE_CENTER))
    a[r2 <= SPHERE_RADIUS**2] = SPHERE_HU
    a[CUBE] = CUBE_HU
    return Volume(a, spacing=SPACING, origin=(-24.0, -25.6, -50.0), modality="CT")


# conftest.py chooses the Qt platform in pytest_configure, after this module is imported:
# the condition is a string so that it is evaluated when each test runs.
needs_gl = pytest.mark.skipif(
    "os.environ.get('QT_QPA_PLATFORM') != 'xcb'", reason="VisPy needs an X server (Xvfb) with OpenGL"
)
