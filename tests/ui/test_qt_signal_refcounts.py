"""The Qt binding keeps the references of what a signal carries.

PySide6 6.12.0 drops one reference to every Python object emitted through a
Python-declared signal; on Python 3.11, where ``True`` is not immortal, the interpreter
then aborts ("bool_dealloc") once enough ``True`` values have been emitted.
``pyproject.toml`` excludes that release; this test catches a binding that does it again.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    flag = Signal(bool)
    value = Signal(object)


def test_emitting_python_objects_keeps_their_references(qapp: object) -> None:
    emitter = _Emitter()
    received: list[object] = []
    emitter.flag.connect(received.append)
    emitter.value.connect(received.append)
    payload = object()
    gc.collect()
    before_true, before_payload = sys.getrefcount(True), sys.getrefcount(payload)
    for _ in range(50):
        emitter.flag.emit(True)
        emitter.value.emit(payload)
    received.clear()
    gc.collect()
    assert sys.getrefcount(payload) == before_payload
    assert sys.getrefcount(True) >= before_true - 5  # other code may release a few meanwhile
