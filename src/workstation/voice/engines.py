"""Offline speech recognisers behind one interface: PocketSphinx (bundled), Vosk, whisper.cpp.

A :class:`Recognizer` takes one utterance: :meth:`~Recognizer.feed` 16 kHz int16 blocks
while the push-to-talk key is held (returns the partial text, where the engine has
one) and :meth:`~Recognizer.finish` when it is released (returns the final text).

* PocketSphinx ships its English acoustic model, dictionary and language model in
  its wheel: commands (a JSGF grammar) and dictation work with nothing else.
* Vosk and whisper.cpp run models the user put in their speech models folder
  (:mod:`.models`; verified by SHA-256, never downloaded); their Python packages are
  optional (``pip install vosk`` / ``pip install pywhispercpp``).

:func:`engine_problems` says what each engine lacks, so the GUI can name it.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any, Optional, Protocol

import numpy as np
from numpy.typing import NDArray

from workstation.voice.audio import RATE, floor_noise, trim
from workstation.voice.models import SpeechModel

PACKAGES = {"pocketsphinx": "pocketsphinx", "vosk": "vosk", "whisper.cpp": "pywhispercpp"}


class VoiceError(RuntimeError):
    """A recogniser cannot run; the message says what is missing."""


class Recognizer(Protocol):
    name: str

    def feed(self, samples: NDArray[np.int16]) -> str: ...

    def finish(self) -> str: ...


def engine_problems(engine: str) -> Optional[str]:
    """Why ``engine`` cannot run here (its package missing), ``None`` when it can."""
    package = PACKAGES.get(engine)
    if package is None:
        return f"unknown speech engine {engine!r}; known: {', '.join(PACKAGES)}"
    if importlib.util.find_spec(package) is None:
        return f"the {engine} engine needs the Python package {package} (pip install {package})"
    return None


def pronouncing_dictionary() -> set[str]:
    """The words PocketSphinx's bundled dictionary can pronounce."""
    import os

    from pocketsphinx import get_model_path

    path = os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict")
    with open(path, encoding="utf-8", errors="replace") as handle:
        return {line.split(" ", 1)[0].split("(")[0] for line in handle if line.strip()}


class PocketSphinx:
    """PocketSphinx with its bundled English model: a JSGF ``grammar`` (commands) or its
    language model (dictation).

    The final text is decoded from the whole utterance, trimmed of surrounding silence and
    given a microphone's noise floor (:mod:`.audio`); partial text comes from decoding the
    blocks as they arrive.
    """

    def __init__(self, grammar: Optional[str] = None) -> None:
        problem = engine_problems("pocketsphinx")
        if problem:
            raise VoiceError(problem)
        from pocketsphinx import Decoder

        self.name = "pocketsphinx commands" if grammar else "pocketsphinx dictation"
        self._decoder = Decoder(samprate=RATE, loglevel="FATAL")
        if grammar:
            self._decoder.add_jsgf_string("commands", grammar)
            self._decoder.activate_search("commands")
        self._blocks: list[NDArray[np.int16]] = []
        self._streaming = False

    def _hyp(self) -> str:
        hyp = self._decoder.hyp()
        return str(hyp.hypstr) if hyp is not None else ""

    def feed(self, samples: NDArray[np.int16]) -> str:
        if not self._streaming:
            self._decoder.start_utt()
            self._streaming = True
        block = np.ascontiguousarray(samples, dtype=np.int16)
        self._blocks.append(block)
        self._decoder.process_raw(floor_noise(block, seed=len(self._blocks)).tobytes(), False, False)
        return self._hyp()

    def finish(self) -> str:
        if self._streaming:
            self._decoder.end_utt()
            self._streaming = False
        audio = trim(np.concatenate(self._blocks)) if self._blocks else np.zeros(0, np.int16)
        self._blocks = []
        if audio.size < RATE // 10:
            return ""
        self._decoder.start_utt()
        self._decoder.process_raw(floor_noise(audio).tobytes(), False, True)
        self._decoder.end_utt()
        return self._hyp()


class Vosk:
    """Vosk (Kaldi) dictation with a model folder from the user's speech models."""

    def __init__(self, model: SpeechModel) -> None:
        problem = engine_problems("vosk")
        if problem:
            raise VoiceError(problem)
        import vosk

        vosk.SetLogLevel(-1)
        self.name = f"vosk ({model.name})"
        self._model = vosk.Model(str(model.path))  # a path: Vosk loads it, never downloads
        self._rec = vosk.KaldiRecognizer(self._model, RATE)
        self._done: list[str] = []

    def feed(self, samples: NDArray[np.int16]) -> str:
        if self._rec.AcceptWaveform(np.ascontiguousarray(samples, dtype=np.int16).tobytes()):
            self._done.append(json.loads(self._rec.Result()).get("text", ""))
            return " ".join(t for t in self._done if t)
        partial = json.loads(self._rec.PartialResult()).get("partial", "")
        return " ".join(t for t in self._done + [partial] if t)

    def finish(self) -> str:
        self._done.append(json.loads(self._rec.FinalResult()).get("text", ""))
        text = " ".join(t for t in self._done if t)
        self._done = []
        return text


class WhisperCpp:
    """whisper.cpp (pywhispercpp) dictation with a ggml model file from the user's speech models;
    text comes when the key is released (no partial text)."""

    def __init__(self, model: SpeechModel, threads: int = 2) -> None:
        problem = engine_problems("whisper.cpp")
        if problem:
            raise VoiceError(problem)
        from pywhispercpp.model import Model

        self.name = f"whisper.cpp ({model.name})"
        if not model.path.is_file():  # a name instead of a file would make pywhispercpp download one
            raise VoiceError(f"{model.path} is not a whisper.cpp model file")
        self._model: Any = Model(str(model.path), n_threads=threads, print_progress=False)
        self._blocks: list[NDArray[np.int16]] = []

    def feed(self, samples: NDArray[np.int16]) -> str:
        self._blocks.append(np.asarray(samples, dtype=np.int16))
        return ""

    def finish(self) -> str:
        audio = trim(np.concatenate(self._blocks)) if self._blocks else np.zeros(0, np.int16)
        self._blocks = []
        if audio.size < RATE // 10:
            return ""
        segments = self._model.transcribe(audio.astype(np.float32) / 32768.0)
        return " ".join(str(s.text).strip() for s in segments).strip()


def dictation(model: Optional[SpeechModel] = None) -> Recognizer:
    """The dictation recogniser: the user's model's engine, else PocketSphinx's language model."""
    if model is None:
        return PocketSphinx()
    if model.engine == "vosk":
        return Vosk(model)
    if model.engine == "whisper.cpp":
        return WhisperCpp(model)
    raise VoiceError(f"unknown speech engine {model.engine!r}")


def recognise(recognizer: Recognizer, samples: NDArray[np.int16], block: int = 1600) -> str:
    """Feed a whole utterance in blocks (as a microphone would) and return the final text."""
    for start in range(0, len(samples), block):
        recognizer.feed(samples[start:start + block])
    return recognizer.finish()
