"""Start a real Orthanc (Debian ``orthanc`` + ``orthanc-dicomweb``) for tests and benchmarks.

:func:`start_orthanc` writes a configuration into a temporary folder (storage there
too), picks free loopback ports, runs ``/usr/sbin/Orthanc CONFIG.json`` in the
foreground and waits until its REST API answers; :meth:`Orthanc.stop` ends that one
process by its PID.  Orthanc 1.10 listens on every interface (it has no bind option),
so only its HTTP side is closed to other hosts (``RemoteAccessAllowed: false``).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ORTHANC = shutil.which("Orthanc") or ("/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists() else None)
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
USER, PASSWORD = "radiology", "s3cret-pass"


def missing() -> str | None:
    """Why Orthanc cannot be started here (the Debian package to install), or ``None``."""
    if ORTHANC is None:
        return "Orthanc is not installed (Debian package orthanc)"
    if not DICOMWEB_PLUGIN.exists():
        return "the Orthanc DICOMweb plugin is not installed (Debian package orthanc-dicomweb)"
    return None


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Orthanc:
    """A running Orthanc: its ports, AE title, folder and process."""

    folder: Path
    http_port: int
    dicom_port: int
    aet: str
    process: subprocess.Popen[bytes]
    auth: tuple[str, str] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    verify: str | bool = True

    @property
    def url(self) -> str:
        if self.config.get("SslEnabled"):
            return f"https://localhost:{self.http_port}"
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    def rest(self, method: str, path: str, data: Any = None, *, raw: bytes | None = None) -> Any:
        """Call the REST API; JSON in and out (``raw`` bytes are posted as they are)."""
        import requests

        body = raw if raw is not None else (json.dumps(data) if data is not None else None)
        r = requests.request(method, self.url + path, data=body, auth=self.auth, timeout=60, verify=self.verify)
        r.raise_for_status()
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else r.content

    def upload(self, files: Iterable[Path]) -> list[str]:
        """POST each DICOM file to ``/instances``; returns Orthanc's instance IDs."""
        return [self.rest("POST", "/instances", raw=Path(f).read_bytes())["ID"] for f in files]

    def register_modality(self, name: str, aet: str, port: int, host: str = "127.0.0.1") -> None:
        """Make ``aet`` at ``host:port`` a known C-MOVE destination."""
        self.rest("PUT", f"/modalities/{name}", {"AET": aet, "Host": host, "Port": port})

    def clear(self) -> None:
        """Delete every patient (and so every instance) stored."""
        for patient in self.rest("GET", "/patients"):
            self.rest("DELETE", f"/patients/{patient}")

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop this Orthanc process (by its PID) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_orthanc(folder: Path, *, aet: str = "ORTHANC", users: bool = True, ca_file: str = "",
                  **extra: Any) -> Orthanc:
    """Start Orthanc with storage and configuration in ``folder``; ready when it returns.

    ``users`` enables HTTP basic authentication with one registered user
    (:data:`USER` / :data:`PASSWORD`); ``extra`` overrides configuration keys;
    ``ca_file`` is the CA that signed its HTTPS certificate (``SslEnabled``).
    """
    why = missing()
    if why:
        raise RuntimeError(why)
    folder.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    while dicom_port == http_port:
        dicom_port = free_port()
    config: dict[str, Any] = {
        "Name": "workstation-test",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": aet,
        "DicomCheckCalledAet": True,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": users,
        "RegisteredUsers": {USER: PASSWORD} if users else {},
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowGet": True,
        "DicomAlwaysAllowMove": True,
        "DicomScuTimeout": 10,
        "HttpCompressionEnabled": False,
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "StudiesMetadata": "Full"},
        "StableAge": 1,
        "DicomModalities": {},
    }
    config.update(extra)
    path = folder / "orthanc.json"
    path.write_text(json.dumps(config, indent=2))
    with open(folder / "orthanc.log", "wb") as log:
        process = subprocess.Popen([str(ORTHANC), str(path)], cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    server = Orthanc(folder, http_port, dicom_port, aet, process, (USER, PASSWORD) if users else None, config,
                     ca_file or True)
    _wait_ready(server)
    return server


def _wait_ready(server: Orthanc, timeout_s: float = 30.0) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not server.running():
            text = (server.folder / "orthanc.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Orthanc exited at start-up:\n{text}")
        try:
            requests.get(server.url + "/system", auth=server.auth, timeout=1, verify=server.verify).raise_for_status()
            with socket.create_connection(("127.0.0.1", server.dicom_port), timeout=1):
                return
        except (requests.RequestException, OSError):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"Orthanc did not answer within {timeout_s:.0f} s")


def orthanc_or_skip(folder: Path, **kwargs: Any) -> Orthanc:
    """:func:`start_orthanc`, or skip the test naming the Debian package that is missing."""
    import pytest

    why = missing()
    if why:
        pytest.skip(why)
    return start_orthanc(folder, **kwargs)
