"""Spoken report commands: the JSGF grammar the recogniser listens with, and what a phrase means.

Commands: "next section", "previous section", "insert <analysis> result", "new
paragraph", "delete last sentence", "sign report".  ``<analysis>`` is each reporting
analysis's title in lower case ("coronary calcium", "perfusion"), kept to the words the
pronouncing dictionary holds, so an analysis registered later is speakable without a
change here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Mapping, Optional

FIXED = {
    "next section": "next_section",
    "previous section": "previous_section",
    "new paragraph": "new_paragraph",
    "delete last sentence": "delete_last_sentence",
    "sign report": "sign",
}


@dataclass(frozen=True)
class Command:
    """A recognised command: ``action`` and, for ``insert``, the analysis name."""

    action: str
    analysis: str = ""


def spoken_names(titles: Mapping[str, str], dictionary: Optional[Collection[str]] = None) -> dict[str, str]:
    """Phrase -> analysis name: each title in lower-case words (only words of ``dictionary``)."""
    out: dict[str, str] = {}
    for name, title in titles.items():
        words = [w for w in re.findall(r"[a-z]+", title.lower()) if dictionary is None or w in dictionary]
        if not words:
            words = [w for w in re.findall(r"[a-z]+", name.lower()) if dictionary is None or w in dictionary]
        phrase = " ".join(words)
        if phrase and phrase not in out and phrase not in FIXED:
            out[phrase] = name
    return out


def grammar(spoken: Mapping[str, str]) -> str:
    """The JSGF grammar of every command, with ``spoken`` as the analysis alternatives."""
    alternatives = " | ".join(FIXED)
    if spoken:
        alternatives += " | insert <analysis> result"
    lines = ["#JSGF V1.0;", "grammar report_commands;", f"public <command> = {alternatives};"]
    if spoken:
        lines.append(f"<analysis> = {' | '.join(sorted(spoken))};")
    return "\n".join(lines) + "\n"


def parse(text: str, spoken: Mapping[str, str]) -> Optional[Command]:
    """The command a recognised phrase says, or ``None``."""
    phrase = " ".join(text.lower().split())
    if phrase in FIXED:
        return Command(FIXED[phrase])
    match = re.fullmatch(r"insert (.+) result", phrase)
    if match and match.group(1) in spoken:
        return Command("insert", spoken[match.group(1)])
    return None


def words_of(spoken: Mapping[str, str]) -> set[str]:
    """Every word the grammar uses (to check against the pronouncing dictionary)."""
    return {w for phrase in list(FIXED) + list(spoken) + ["insert", "result"] for w in phrase.split()}
