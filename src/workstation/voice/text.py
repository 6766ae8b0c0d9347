"""Dictated words into report text: spacing, capitals after a full stop, the spoken edits.

Recognisers return lower-case words without punctuation; "full stop", "comma", "new
paragraph" spoken inside dictation become punctuation and breaks.
"""

from __future__ import annotations

import re

SPOKEN_PUNCTUATION = {"full stop": ".", "period": ".", "comma": ",", "colon": ":", "question mark": "?",
                      "new paragraph": "\n\n", "new line": "\n"}
_SENTENCE_END = re.compile(r"[.?!]\s*$")


def punctuate(words: str) -> str:
    """Spoken punctuation words replaced by their marks (``"no effusion full stop"`` -> ``"no effusion."``)."""
    text = " ".join(words.split())
    for spoken, mark in SPOKEN_PUNCTUATION.items():
        text = re.sub(rf"\s*\b{spoken}\b\s*", mark if mark.startswith("\n") else f"{mark} ", text)
    return re.sub(r" +\n", "\n", text).strip(" ")


def insert_dictation(text: str, cursor: int, words: str) -> tuple[str, int]:
    """``text`` with dictated ``words`` inserted at ``cursor`` and the cursor after them.

    A space separates them from what precedes; the first word is capitalised at the start
    of the text or after a sentence end.
    """
    addition = punctuate(words)
    if not addition:
        return text, cursor
    before, after = text[:cursor], text[cursor:]
    if not before.strip() or _SENTENCE_END.search(before) or before.endswith("\n"):
        addition = addition[:1].upper() + addition[1:]
    if before and not before[-1].isspace():
        addition = " " + addition
    if after and not after[0].isspace() and not addition.endswith(("\n", " ")):
        addition += " "
    return before + addition + after, len(before) + len(addition)


def delete_last_sentence(text: str) -> str:
    """``text`` without its last sentence (what follows the last sentence end, or the last whole sentence)."""
    stripped = text.rstrip()
    if not stripped:
        return ""
    body = stripped[:-1] if stripped[-1] in ".?!" else stripped
    cut = max(body.rfind(". "), body.rfind("? "), body.rfind("! "), body.rfind("\n"))
    return stripped[:cut + 1].rstrip() if cut >= 0 else ""


def new_paragraph(text: str) -> str:
    return text.rstrip() + "\n\n" if text.strip() else text
