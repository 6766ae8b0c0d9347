"""PACS nodes: where a DIMSE or DICOMweb service is and how to talk to it (no secrets).

A node is written on the command line as a *server* string::

    dicom://ORTHANC@pacs.example.org:4242          DIMSE (C-ECHO/FIND/GET/MOVE/STORE)
    dicom+tls://ORTHANC@pacs.example.org:2762      DIMSE over DICOM TLS
    dicomweb+https://user@pacs.example.org/dicom-web   DICOMweb (QIDO/WADO/STOW-RS)

or by the name of a node kept in the settings.  Passwords and tokens never live in a
node: :mod:`workstation.io.pacs.credentials` finds them in the keyring or the
environment.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from workstation.io.pacs.errors import Fault, PacsError

DEFAULT_DIMSE_PORT = 104
RETRIEVE_METHODS = ("get", "move")
AUTH_KINDS = ("none", "basic", "bearer")


def check_ae_title(title: str, what: str = "AE title") -> str:
    """``title`` stripped, or :class:`PacsError` when DICOM would not accept it (1-16 chars)."""
    text = title.strip()
    if not 1 <= len(text) <= 16 or "\\" in text or any(ord(c) < 32 for c in text):
        raise PacsError(what, Fault.CONFIG, f"{title!r} is not a valid AE title (1 to 16 characters, no backslash)")
    return text


@dataclass(frozen=True)
class Tls:
    """TLS settings: the CA bundle to trust, an optional client certificate, verification."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    verify: bool = True

    def context(self) -> ssl.SSLContext:
        """A client context (TLS 1.2 or later) verifying the server unless ``verify`` is off."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file or None)
        return context


@dataclass(frozen=True)
class DimseNode:
    """A DIMSE service class provider: called AE title, host, port, optional DICOM TLS.

    ``retrieve`` is how studies are fetched (``get``: C-GET on the same association;
    ``move``: C-MOVE to our storage SCP, which the PACS must know by AE title, host
    and port).  ``timeout_s`` bounds each wait for the peer (connection, association,
    each DIMSE response).
    """

    name: str
    ae_title: str
    host: str
    port: int = DEFAULT_DIMSE_PORT
    tls: Tls | None = None
    retrieve: str = "get"
    timeout_s: float = 30.0

    @property
    def address(self) -> str:
        scheme = "dicom+tls" if self.tls else "dicom"
        return f"{scheme}://{self.ae_title}@{_host(self.host)}:{self.port}"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address})" if self.name else self.address


@dataclass(frozen=True)
class Auth:
    """How to authenticate to a DICOMweb service: ``none``, ``basic`` (user) or ``bearer``."""

    kind: str = "none"
    username: str = ""


@dataclass(frozen=True)
class DicomWebNode:
    """A DICOMweb service: base URL (``http(s)://host:port/path``), auth, TLS trust."""

    name: str
    url: str
    auth: Auth = field(default_factory=Auth)
    tls: Tls | None = None
    timeout_s: float = 30.0
    parallel: int = 4

    @property
    def address(self) -> str:
        parts = urlsplit(self.url)
        user = f"{self.auth.username}@" if self.auth.kind == "basic" and self.auth.username else ""
        return f"dicomweb+{parts.scheme}://{user}{parts.netloc}{parts.path}"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address})" if self.name else self.address


Node = DimseNode | DicomWebNode


@dataclass(frozen=True)
class LocalAE:
    """Us: the AE title we call with and answer to, and the port of our storage SCP."""

    ae_title: str = "WORKSTATION"
    store_port: int = 11112
    bind_address: str = ""


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse_server(text: str, nodes: Mapping[str, Node] = {}, **changes: Any) -> Node:
    """The node meant by a server string or a node name; ``changes`` override its fields.

    Raises
    ------
    PacsError
        ``CONFIG`` for a malformed string, a password in the URL or an unknown name.
    """
    text = text.strip()
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    if scheme in ("dicom", "dicom+tls"):
        node: Node = _dimse_from_url(text, tls=scheme == "dicom+tls")
    elif scheme in ("dicomweb+http", "dicomweb+https"):
        node = _dicomweb_from_url(text)
    elif scheme:
        raise PacsError(text, Fault.CONFIG, f"unknown scheme {scheme!r}; use dicom://, dicom+tls:// or dicomweb+http(s)://")
    else:
        node = _named(text, nodes)
    changes = {k: v for k, v in changes.items() if v is not None and hasattr(node, k)}
    return replace(node, **changes) if changes else node


def _named(name: str, nodes: Mapping[str, Node]) -> Node:
    if name in nodes:
        return nodes[name]
    folded = {k.casefold(): v for k, v in nodes.items()}
    if name.casefold() in folded:
        return folded[name.casefold()]
    known = ", ".join(sorted(nodes)) or "none configured"
    raise PacsError(name, Fault.CONFIG, f"no PACS node of this name in the settings (known: {known}); "
                    "or give dicom://AET@host:port or dicomweb+http(s)://host:port/path")


def _dimse_from_url(text: str, *, tls: bool) -> DimseNode:
    parts = urlsplit(text)
    try:
        port = parts.port or DEFAULT_DIMSE_PORT
    except ValueError:
        raise PacsError(text, Fault.CONFIG, "the port is not a number from 1 to 65535") from None
    if parts.password is not None:
        raise PacsError(text, Fault.CONFIG, "DIMSE has no password; write dicom://CALLED_AET@host:port")
    if not parts.username or not parts.hostname:
        raise PacsError(text, Fault.CONFIG, "expected dicom://CALLED_AET@host:port")
    return DimseNode(name="", ae_title=check_ae_title(unquote(parts.username), "called AE title"),
                     host=parts.hostname, port=port, tls=Tls() if tls else None)


def _dicomweb_from_url(text: str) -> DicomWebNode:
    parts = urlsplit(text[len("dicomweb+"):])
    if parts.password is not None:
        raise PacsError(parts.hostname or text, Fault.CONFIG, "the URL holds a password: put it in the system "
                        "keyring or the environment (see the README), never on the command line")
    if not parts.hostname:
        raise PacsError(text, Fault.CONFIG, "expected dicomweb+http(s)://host:port/path")
    try:
        _ = parts.port
    except ValueError:
        raise PacsError(text, Fault.CONFIG, "the port is not a number from 1 to 65535") from None
    netloc = parts.netloc.rpartition("@")[2]
    url = f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"
    auth = Auth("basic", unquote(parts.username)) if parts.username else Auth()
    return DicomWebNode(name="", url=url, auth=auth, tls=Tls() if parts.scheme == "https" else None)


# -- settings: nodes as JSON ------------------------------------------------------------
def node_to_dict(node: Node) -> dict[str, Any]:
    """A JSON-ready description of ``node`` (it holds no secret)."""
    data = asdict(node)
    data["kind"] = "dimse" if isinstance(node, DimseNode) else "dicomweb"
    return data


def node_from_dict(data: Mapping[str, Any]) -> Node:
    """The node described by :func:`node_to_dict`'s output, checked field by field."""
    name = str(data.get("name", "")).strip()
    where = name or "a PACS node in the settings"
    try:
        tls = Tls(**data["tls"]) if data.get("tls") else None
        if data.get("kind") == "dimse":
            retrieve = str(data.get("retrieve", "get"))
            if retrieve not in RETRIEVE_METHODS:
                raise ValueError(f"retrieve must be get or move, not {retrieve!r}")
            return DimseNode(name=name, ae_title=check_ae_title(str(data["ae_title"])), host=str(data["host"]),
                             port=_port(data.get("port", DEFAULT_DIMSE_PORT)), tls=tls, retrieve=retrieve,
                             timeout_s=float(data.get("timeout_s", 30.0)))
        if data.get("kind") == "dicomweb":
            auth = Auth(**data.get("auth") or {})
            if auth.kind not in AUTH_KINDS:
                raise ValueError(f"auth kind must be one of {', '.join(AUTH_KINDS)}, not {auth.kind!r}")
            url = str(data["url"]).rstrip("/")
            if urlsplit(url).scheme not in ("http", "https") or urlsplit(url).password is not None:
                raise ValueError("url must be http(s)://host:port/path without a password")
            return DicomWebNode(name=name, url=url, auth=auth, tls=tls, timeout_s=float(data.get("timeout_s", 30.0)),
                                parallel=max(1, int(data.get("parallel", 4))))
        raise ValueError(f"kind must be dimse or dicomweb, not {data.get('kind')!r}")
    except PacsError as exc:
        raise PacsError(where, Fault.CONFIG, exc.detail) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise PacsError(where, Fault.CONFIG, f"invalid node entry ({type(exc).__name__}: {exc})") from None


def _port(value: Any) -> int:
    port = int(value)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not in 1..65535")
    return port


def nodes_to_json(nodes: list[Node]) -> str:
    return json.dumps([node_to_dict(n) for n in nodes], ensure_ascii=True)


def nodes_from_json(text: str) -> tuple[list[Node], list[str]]:
    """The nodes of a settings value, and one problem line per entry that was skipped."""
    if not text.strip():
        return [], []
    try:
        entries = json.loads(text)
    except ValueError as exc:
        return [], [f"the PACS node list in the settings is not valid JSON ({exc})"]
    nodes: list[Node] = []
    problems: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        try:
            nodes.append(node_from_dict(entry if isinstance(entry, dict) else {}))
        except PacsError as exc:
            problems.append(str(exc))
    return nodes, problems
