"""Speech for the voice tests: espeak-ng (Debian) says a phrase into a WAV, sox makes it 16 kHz mono.

Files are made once per test session in a temporary folder; the tests skip, naming the
missing program, where espeak-ng or sox is not installed (``scripts/setup.sh`` installs
both as root).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from workstation.voice.audio import read_wav

#: espeak-ng voices (accents and a female variant) the tests speak with.
VOICES = ("en-us", "en-gb", "en-gb-x-rp", "en-us+f3", "en-gb-scotland", "en-029")


def require_tools() -> None:
    for tool, package in (("espeak-ng", "espeak-ng"), ("sox", "sox")):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} (Debian package {package}) is not installed")


def speak(folder: Path, text: str, voice: str = "en-us", words_per_minute: int = 150) -> NDArray[np.int16]:
    """``text`` spoken by espeak-ng as 16 kHz mono int16 (cached in ``folder``)."""
    require_tools()
    key = hashlib.sha256(f"{voice}|{words_per_minute}|{text}".encode()).hexdigest()[:16]
    out = folder / f"{key}.wav"
    if not out.exists():
        raw = folder / f"{key}-raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text],
                       check=True, capture_output=True, timeout=60)
        subprocess.run(["sox", "-q", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)],
                       check=True, capture_output=True, timeout=60)
        raw.unlink()
    return read_wav(out)


def with_room(samples: NDArray[np.int16], noise_dbfs: float, seed: int, lead_s: float = 0.4) -> NDArray[np.int16]:
    """The utterance inside ``lead_s`` of silence on each side, white noise at ``noise_dbfs`` over all of it
    (a microphone held while the key is pressed before and after speaking)."""
    pad = np.zeros(int(16000 * lead_s), dtype=np.float64)
    x = np.concatenate([pad, samples.astype(np.float64), pad])
    x += np.random.default_rng(seed).normal(0.0, 32768.0 * 10.0 ** (noise_dbfs / 20.0), x.size)
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def word_errors(reference: str, hypothesis: str) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    ref, hyp = reference.split(), hypothesis.split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]
