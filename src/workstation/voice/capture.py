"""Microphone capture through PortAudio (``sounddevice``), in 100 ms blocks of 16 kHz int16.

The stream runs at the device's own rate and is resampled to 16 kHz; each block goes to
``on_block(samples, level_dbfs)`` on PortAudio's thread.  Where there is no PortAudio
library (Debian ``libportaudio2``) or no input device, :meth:`Microphone.start` raises
:class:`CaptureError` with a message saying so; nothing else breaks.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
from numpy.typing import NDArray

from workstation.voice.audio import level_dbfs, to_16k

BlockFn = Callable[[NDArray[np.int16], float], None]


class CaptureError(RuntimeError):
    """No audio input can be opened; the message says why and what to do."""


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # the Python package is there, the PortAudio library is not
        raise CaptureError(f"no audio library: install PortAudio (Debian: libportaudio2) ({exc})") from None
    except ImportError:
        raise CaptureError("audio capture needs the Python package sounddevice") from None
    return sounddevice


def input_device() -> tuple[Optional[int], float]:
    """(device index, its default sample rate) of the default microphone; :class:`CaptureError` if none."""
    sd = _sounddevice()
    try:
        info = sd.query_devices(kind="input")
    except Exception as exc:  # noqa: BLE001 - PortAudio reports "no device" as several errors
        raise CaptureError(f"no microphone found ({exc})") from None
    if not info or int(info.get("max_input_channels", 0)) < 1:
        raise CaptureError("no microphone found")
    return info.get("index"), float(info.get("default_samplerate") or 16000.0)


class Microphone:
    """The default input device, started and stopped around each push-to-talk."""

    def __init__(self, on_block: BlockFn) -> None:
        self.on_block = on_block
        self._stream: Any = None

    @property
    def active(self) -> bool:
        return self._stream is not None

    def start(self) -> None:
        if self._stream is not None:
            return
        sd = _sounddevice()
        device, rate = input_device()

        def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
            block = np.array(indata[:, 0], copy=True)
            self.on_block(to_16k(block, int(rate)), level_dbfs(block))

        try:
            self._stream = sd.InputStream(device=device, channels=1, samplerate=rate, dtype="int16",
                                          blocksize=int(rate // 10), callback=callback)
            self._stream.start()
        except Exception as exc:  # noqa: BLE001 - busy or vanished device: say so
            self._stream = None
            raise CaptureError(f"the microphone cannot be opened ({exc})") from None

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()
