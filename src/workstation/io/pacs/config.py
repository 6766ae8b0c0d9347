"""PACS settings: nodes, our AE title and store port, cache limit, routing rules.

They live in the application's settings (the ``[pacs]`` group of
``~/.config/Workstation/Workstation.conf``, written by the desktop application through
QSettings).  :func:`settings_from` reads them from any ``key -> text`` look-up, so the
desktop application passes QSettings and the batch command :func:`read_settings_file`,
a reader of the same file that needs no Qt.  No secret is ever stored here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workstation.core.paths import settings_file
from workstation.io.pacs.errors import PacsError
from workstation.io.pacs.nodes import (
    LocalAE,
    Node,
    check_ae_title,
    nodes_from_json,
    nodes_to_json,
)
from workstation.io.pacs.routing import RoutingRule, rules_from_json, rules_to_json

GROUP = "pacs"
KEYS = ("nodes", "local_aet", "store_port", "bind_address", "listen", "cache_limit_gb", "routing")
DEFAULT_CACHE_GB = 20.0


@dataclass
class PacsSettings:
    """Everything the PACS features read from the settings, with what was wrong in them."""

    nodes: list[Node] = field(default_factory=list)
    local: LocalAE = field(default_factory=LocalAE)
    listen: bool = False
    cache_limit_gb: float = DEFAULT_CACHE_GB
    routing: list[RoutingRule] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes if n.name}

    def values(self) -> dict[str, str]:
        """``key -> text`` to store (the inverse of :func:`settings_from`)."""
        return {
            "nodes": nodes_to_json(self.nodes), "local_aet": self.local.ae_title,
            "store_port": str(self.local.store_port), "bind_address": self.local.bind_address,
            "listen": "true" if self.listen else "false", "cache_limit_gb": f"{self.cache_limit_gb:g}",
            "routing": rules_to_json(self.routing),
        }


def settings_from(get: Callable[[str], str | None]) -> PacsSettings:
    """Read the ``pacs`` keys through ``get(key)``; bad values fall back to defaults, noted."""
    out = PacsSettings()
    out.nodes, out.problems = nodes_from_json(get("nodes") or "")
    default = LocalAE()
    aet, port, bind = default.ae_title, default.store_port, default.bind_address
    try:
        aet = check_ae_title(get("local_aet") or default.ae_title, "our AE title")
    except PacsError as exc:
        out.problems.append(str(exc))
    try:
        port = int(get("store_port") or default.store_port)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        out.problems.append(f"store port {get('store_port')!r} is not a port number; using {default.store_port}")
        port = default.store_port
    bind = (get("bind_address") or "").strip()
    out.local = LocalAE(aet, port, bind)
    out.listen = (get("listen") or "").strip().lower() in ("1", "true", "yes", "on")
    try:
        out.cache_limit_gb = max(0.1, float(get("cache_limit_gb") or DEFAULT_CACHE_GB))
    except ValueError:
        out.problems.append("the cache limit is not a number; using 20 GB")
    try:
        out.routing = rules_from_json(get("routing") or "")
    except PacsError as exc:
        out.problems.append(str(exc))
    return out


def read_settings_file(path: str | Path | None = None) -> PacsSettings:
    """The PACS settings from the QSettings INI file (default: the application's)."""
    target = Path(path) if path is not None else settings_file()
    try:
        text = target.read_text(encoding="utf-8")
    except OSError:
        return PacsSettings()
    values = ini_group(text, GROUP)
    return settings_from(values.get)


def ini_group(text: str, group: str) -> dict[str, str]:
    """The string values of one group of a QSettings INI file, unescaped as Qt writes them."""
    values: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, raw = line.partition("=")
        key = key.strip()
        if sep and section.casefold() == group.casefold() and not raw.strip().startswith("@"):
            values[key] = unescape_qt(raw.strip())
    return values


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            '"': '"', "'": "'", "\\": "\\", "?": "?", ";": ";", ",": ","}


def unescape_qt(raw: str) -> str:
    """One value as QSettings' INI format writes it: quoted parts, backslash escapes,
    ``\\xHHHH`` code points.  (Unquoted commas mean a list; its items are joined by ``,``.)"""
    out: list[str] = []
    i, quoted = 0, False
    while i < len(raw):
        c = raw[i]
        if c == '"':
            quoted = not quoted
        elif c == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt == "x":
                match = re.match(r"[0-9A-Fa-f]{1,4}", raw[i + 2:])
                if match:
                    out.append(chr(int(match.group(0), 16)))
                    i += 2 + len(match.group(0))
                    continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        elif c == "," and not quoted:
            out.append(",")
            while i + 1 < len(raw) and raw[i + 1] == " ":
                i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out)
