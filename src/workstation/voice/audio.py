"""Audio for the recognisers: 16 kHz mono int16, a level in dBFS, trimmed utterances.

Recognisers take 16 kHz 16-bit mono.  :func:`to_16k` resamples whatever the device or
file gives (polyphase, SciPy).  :func:`floor_noise` adds a -60 dBFS noise floor, as every
microphone has: audio that holds digital silence (synthesised speech, gated audio)
gives the decoder's silence model log energies of minus infinity, and PocketSphinx's
command search then fails on it.  :func:`trim` cuts the silence around an utterance.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

RATE = 16000
FLOOR_DBFS = -60.0


def to_16k(samples: NDArray[np.generic], rate: int) -> NDArray[np.int16]:
    """``samples`` (int16 or float in [-1, 1], mono or (n, channels)) as 16 kHz mono int16."""
    x = _as_unit(np.asarray(samples))
    if rate != RATE:
        from scipy.signal import resample_poly

        g = math.gcd(int(rate), RATE)
        x = resample_poly(x, RATE // g, int(rate) // g)
    return np.clip(np.rint(x * 32767.0), -32768, 32767).astype(np.int16)


def _as_unit(samples: NDArray[np.generic]) -> NDArray[np.float64]:
    """Mono float samples in [-1, 1]."""
    scale = 1.0 / 32768.0 if np.issubdtype(samples.dtype, np.integer) else 1.0
    x = samples.mean(axis=1) if samples.ndim == 2 else samples.astype(np.float64)
    return np.asarray(x, dtype=np.float64) * scale


def level_dbfs(samples: NDArray[np.generic]) -> float:
    """RMS level of a block in dB relative to full scale (-120 for silence)."""
    x = _as_unit(np.asarray(samples))
    rms = float(np.sqrt(np.mean(x * x))) if x.size else 0.0
    return max(20.0 * math.log10(rms), -120.0) if rms > 0 else -120.0


def floor_noise(samples: NDArray[np.int16], dbfs: float = FLOOR_DBFS, seed: int = 0) -> NDArray[np.int16]:
    """``samples`` with white noise at ``dbfs`` added (deterministic for a seed)."""
    sigma = 32768.0 * 10.0 ** (dbfs / 20.0)
    noise = np.random.default_rng(seed).normal(0.0, sigma, samples.shape)
    return np.clip(np.rint(samples.astype(np.float64) + noise), -32768, 32767).astype(np.int16)


def trim(samples: NDArray[np.int16], rel_db: float = -35.0, margin_s: float = 0.03,
         frame_s: float = 0.01) -> NDArray[np.int16]:
    """``samples`` without the leading and trailing stretch quieter than ``rel_db`` below its loudest frame."""
    f = max(1, int(RATE * frame_s))
    n = len(samples) // f
    if n == 0:
        return samples
    frames = samples[: n * f].astype(np.float64).reshape(n, f)
    rms = np.sqrt((frames ** 2).mean(axis=1)) + 1e-9
    loud = np.flatnonzero(20.0 * np.log10(rms / rms.max()) > rel_db)
    if loud.size == 0:
        return samples[:0]
    m = int(round(margin_s / frame_s))
    return samples[max(loud[0] - m, 0) * f: min(loud[-1] + m + 1, n) * f]


def read_wav(path: str | Path) -> NDArray[np.int16]:
    """A PCM WAV file as 16 kHz mono int16 (``ValueError`` naming the file otherwise)."""
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise ValueError(f"{path}: not a readable WAV file ({exc})") from exc
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit WAV; 16-bit PCM is read")
    samples = np.frombuffer(raw, dtype="<i2").reshape(-1, channels)
    return to_16k(samples, rate)
