"""The keys every 2D view understands, and what they do (the Help lists :data:`KEYS`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

from workstation.ui.window_presets import preset_for_key

if TYPE_CHECKING:
    from workstation.ui.canvas2d import ImageCanvas

KEYS = (
    ("Wheel, PageUp/PageDown, Up/Down", "previous / next plane (PageUp/PageDown: 10 at a time)"),
    ("Ctrl+wheel, + / -", "zoom in / out"),
    ("0", "fit the image in the view"),
    ("T", "true size (1 mm on the screen is 1 mm in the patient)"),
    ("1-4", "window presets: lung, mediastinum, bone, brain"),
    ("5-9", "your own window presets (Settings > Window presets)"),
    ("I", "invert the grey scale"),
    ("Right drag", "window width (left/right) and level (up/down)"),
    ("Middle drag", "pan"),
    ("Shift+arrows (Ctrl: 10 pixels)", "move the keyboard pointer"),
    ("Enter", "place a point of the current tool at the keyboard pointer"),
    ("Escape", "cancel the annotation being drawn"),
    ("Delete", "delete the last annotation on this image"),
)
_ARROWS: dict[int, tuple[int, int]] = {int(Qt.Key.Key_Left): (0, -1), int(Qt.Key.Key_Right): (0, 1),
                                       int(Qt.Key.Key_Up): (-1, 0), int(Qt.Key.Key_Down): (1, 0)}


def view_key(canvas: "ImageCanvas", event: QKeyEvent) -> bool:
    """Do what ``event``'s key does in ``canvas``; False when it is not one of :data:`KEYS`."""
    key, mods = event.key(), event.modifiers()
    K, M = Qt.Key, Qt.KeyboardModifier
    if int(key) in _ARROWS and mods & M.ShiftModifier:
        canvas.move_pointer(*_ARROWS[int(key)], 10 if mods & M.ControlModifier else 1)
    elif mods & (M.ControlModifier | M.AltModifier | M.MetaModifier):
        return False
    elif key in (K.Key_PageUp, K.Key_Up, K.Key_Right):
        canvas.step(10 if key == K.Key_PageUp else 1)
    elif key in (K.Key_PageDown, K.Key_Down, K.Key_Left):
        canvas.step(-10 if key == K.Key_PageDown else -1)
    elif key in (K.Key_Plus, K.Key_Equal):
        canvas.zoom(1.25)
    elif key == K.Key_Minus:
        canvas.zoom(0.8)
    elif key == K.Key_0:
        canvas.fit()
    elif key == K.Key_T:
        canvas.true_size()
    elif key == K.Key_I:
        canvas.state.set_invert(not canvas.state.invert)
    elif K.Key_1 <= key <= K.Key_9:
        found = preset_for_key(int(key - K.Key_0))
        if found is not None:
            canvas.state.set_window(found.width, found.level)
    elif key in (K.Key_Return, K.Key_Enter):
        canvas.press_at_pointer()
    elif key == K.Key_Escape and canvas.draft is not None:
        canvas.cancel_draft()
    elif key == K.Key_Delete:
        canvas.delete_last_here()
    else:
        return False
    return True
