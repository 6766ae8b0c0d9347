"""Push-to-talk voice input for the report dock: microphone, recogniser thread, Qt signals.

Holding the dictation key (F9) or the command key (F10) opens the microphone; its
blocks go, through a queue, to a recogniser on a worker thread (never the GUI thread
nor PortAudio's), which reports the level and the partial text as they come and the
final text when the key is released.  Without a microphone the press is answered by
:attr:`VoiceInput.problem` with the reason, and nothing else changes.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Optional

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent

from workstation.voice.audio import level_dbfs
from workstation.voice.capture import CaptureError, Microphone
from workstation.voice.engines import Recognizer, VoiceError

log = logging.getLogger(__name__)
KEYS = {Qt.Key.Key_F9: "dictation", Qt.Key.Key_F10: "command"}
_END = object()


class VoiceInput(QObject):
    """One utterance at a time, recognised off the GUI thread."""

    level = Signal(float)  # dBFS of the last block
    partial = Signal(str)
    heard = Signal(str, str)  # (mode, final text)
    problem = Signal(str)
    listening = Signal(bool)

    def __init__(self, recognizers: Callable[[str], Recognizer], parent: Optional[QObject] = None,
                 microphone: Optional[Microphone] = None) -> None:
        super().__init__(parent)
        self._make = recognizers
        self._made: dict[str, Recognizer] = {}
        self.microphone = microphone if microphone is not None else Microphone(self.push)
        self._queue: "queue.Queue[object]" = queue.Queue()
        self._worker: Optional[threading.Thread] = None
        self.mode = ""

    @property
    def active(self) -> bool:
        return bool(self.mode)

    def press(self, mode: str, *, use_microphone: bool = True) -> None:
        """Start an utterance (``dictation`` or ``command``); ``use_microphone=False`` when blocks
        come from :meth:`push` directly (a WAV file, a test)."""
        if self.mode:
            return
        if use_microphone:
            try:
                self.microphone.start()
            except CaptureError as exc:
                self.problem.emit(f"Voice input unavailable: {exc}")
                return
        self.mode = mode
        self._queue = queue.Queue()
        self._worker = threading.Thread(target=self._recognise, args=(mode, self._queue), daemon=True,
                                        name="voice-recogniser")
        self._worker.start()
        self.listening.emit(True)

    def push(self, samples: NDArray[np.int16], level: Optional[float] = None) -> None:
        """One block of 16 kHz int16 audio (the microphone's thread calls this)."""
        self.level.emit(level_dbfs(samples) if level is None else level)
        if self.mode:
            self._queue.put(np.asarray(samples, dtype=np.int16))

    def release(self) -> None:
        """End the utterance; :attr:`heard` follows from the worker thread."""
        if not self.mode:
            return
        self.microphone.stop()
        self._queue.put(_END)
        self.mode = ""
        self.listening.emit(False)

    def wait(self, timeout_s: float = 30.0) -> None:
        """Block until the last utterance is recognised (tests and shutdown)."""
        if self._worker is not None:
            self._worker.join(timeout_s)

    def _recognise(self, mode: str, blocks: "queue.Queue[object]") -> None:
        try:
            recognizer = self._made.get(mode) or self._make(mode)
            self._made[mode] = recognizer
            while True:
                block = blocks.get()
                if block is _END:
                    break
                text = recognizer.feed(block)  # type: ignore[arg-type]
                if text:
                    self.partial.emit(text)
            self.heard.emit(mode, recognizer.finish())
        except (VoiceError, RuntimeError, OSError, ValueError) as exc:
            log.warning("voice recognition failed: %s", exc)
            self.problem.emit(f"Voice recognition failed: {exc}")

    # -- push-to-talk keys ------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            key_event = event if isinstance(event, QKeyEvent) else None
            if key_event is not None and key_event.key() in KEYS:
                if not key_event.isAutoRepeat():
                    if event.type() == QEvent.Type.KeyPress:
                        self.press(KEYS[Qt.Key(key_event.key())])
                    else:
                        self.release()
                return True
        return False
