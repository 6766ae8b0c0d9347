"""DICOM TLS and HTTPS against a real Orthanc with certificates made by the test (openssl).

Orthanc 1.10.1 as packaged by Debian ends with a segmentation fault on its first HTTPS
request, so HTTPS is served as many sites do: a TLS-terminating proxy (here a small
one in the test) in front of Orthanc's HTTP port.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from orthanc_server import Orthanc, orthanc_or_skip
from pydicom_files import data_file

from workstation.io.pacs.client import connect
from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import Auth, DicomWebNode, DimseNode, LocalAE, Tls
from workstation.io.pacs.query import Query
from workstation.io.pacs.transfer import FolderDestination, SopSink
from workstation.jobs.batch import main

pytestmark = pytest.mark.integration


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path) -> dict[str, Path]:
    """A CA, and a server (localhost, 127.0.0.1) and a client certificate it signed."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (Debian package openssl)")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Workstation test CA", cwd=folder)
    for name, names in (("server", "DNS:localhost,IP:127.0.0.1"), ("client", "DNS:workstation")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=folder)
        (folder / f"{name}.ext").write_text(f"subjectAltName={names}\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=folder)
    (folder / "server-with-key.pem").write_text((folder / "server.pem").read_text()
                                                + (folder / "server.key").read_text())
    return {name: folder / f"{name}" for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key",
                                                  "server-with-key.pem")}


class TlsProxy:
    """Accepts TLS on a loopback port and forwards the plain bytes to ``target_port``."""

    def __init__(self, cert: Path, key: Path, target_port: int) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(str(cert), str(key))
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            secure = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()  # the client did not trust us: the handshake failed
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=self._pump, args=(upstream, secure), daemon=True).start()
        self._pump(secure, upstream)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(1 << 16):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Orthanc, dict[str, Path], int]]:
    certs = make_certificates(tmp_path_factory.mktemp("certificates"))
    server = orthanc_or_skip(
        tmp_path_factory.mktemp("orthanc"), users=False,
        DicomTlsEnabled=True, DicomTlsCertificate=str(certs["server.pem"]),
        DicomTlsPrivateKey=str(certs["server.key"]), DicomTlsTrustedCertificates=str(certs["ca.pem"]),
        DicomTlsRemoteCertificateRequired=True,
    )
    proxy = TlsProxy(certs["server.pem"], certs["server.key"], server.http_port)
    yield server, certs, proxy.port
    proxy.stop()
    server.stop()


def test_dicom_tls_with_our_client_certificate(secured: tuple[Orthanc, dict[str, Path], int]) -> None:
    server, certs, _ = secured
    tls = Tls(ca_file=str(certs["ca.pem"]), cert_file=str(certs["client.pem"]), key_file=str(certs["client.key"]))
    node = DimseNode("", server.aet, "127.0.0.1", server.dicom_port, tls=tls, timeout_s=10)
    assert connect(node, LocalAE("WSTLS")).echo() > 0
    assert connect(node, LocalAE("WSTLS")).find("STUDY", Query()) == []


def test_c_get_over_dicom_tls(secured: tuple[Orthanc, dict[str, Path], int], tmp_path: Path) -> None:
    """C-GET runs on its own upper layer: TLS there too, and the instance arrives intact."""
    server, certs, _ = secured
    original = pydicom.dcmread(data_file("CT_small.dcm"))
    (stored,) = server.upload([Path(data_file("CT_small.dcm"))])
    tls = Tls(ca_file=str(certs["ca.pem"]), cert_file=str(certs["client.pem"]), key_file=str(certs["client.key"]))
    node = DimseNode("", server.aet, "127.0.0.1", server.dicom_port, tls=tls, timeout_s=10)
    sink = SopSink(FolderDestination(tmp_path))
    try:
        connect(node, LocalAE("WSTLS")).fetch(str(original.StudyInstanceUID), str(original.SeriesInstanceUID), None,
                                              sink, lambda: None)
    finally:
        server.rest("DELETE", f"/instances/{stored}")  # the other tests expect an empty archive
    (arrival,) = sink.arrivals
    got = pydicom.dcmread(arrival.path)
    assert got.SOPInstanceUID == original.SOPInstanceUID
    np.testing.assert_array_equal(got.pixel_array, original.pixel_array)


@pytest.mark.parametrize("operation", ["echo", "get"])
def test_dicom_tls_refuses_an_untrusted_server(secured: tuple[Orthanc, dict[str, Path], int], operation: str,
                                               tmp_path: Path) -> None:
    server, _, _ = secured
    node = DimseNode("", server.aet, "127.0.0.1", server.dicom_port, tls=Tls(), timeout_s=10)
    client = connect(node, LocalAE("WSTLS"))
    with pytest.raises(PacsError) as caught:
        if operation == "echo":
            client.echo()
        else:
            client.fetch("1.2.3", "1.2.3.4", None, SopSink(FolderDestination(tmp_path)), lambda: None)
    assert caught.value.fault is Fault.TLS and "certificate is not trusted" in str(caught.value)


def test_https_dicomweb_checks_the_certificate(secured: tuple[Orthanc, dict[str, Path], int]) -> None:
    _, certs, https_port = secured
    url = f"https://localhost:{https_port}/dicom-web"
    trusted = DicomWebNode("", url, Auth(), Tls(ca_file=str(certs["ca.pem"])), timeout_s=10)
    assert connect(trusted).find("STUDY", Query()) == []
    with pytest.raises(PacsError) as caught:
        connect(DicomWebNode("", url, Auth(), Tls(), timeout_s=10)).echo()
    assert caught.value.fault is Fault.TLS and "certificate not trusted" in str(caught.value)


def test_command_line_tls_options(secured: tuple[Orthanc, dict[str, Path], int], capsys: pytest.CaptureFixture[str],
                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    server, certs, https_port = secured
    dimse = [f"dicom+tls://{server.aet}@127.0.0.1:{server.dicom_port}", "--ca-file", str(certs["ca.pem"]),
             "--cert-file", str(certs["client.pem"]), "--key-file", str(certs["client.key"])]
    assert main(["pacs", "echo", *dimse]) == 0
    assert main(["pacs", "echo", f"dicomweb+https://localhost:{https_port}/dicom-web",
                 "--ca-file", str(certs["ca.pem"])]) == 0
    assert main(["pacs", "echo", f"dicomweb+https://localhost:{https_port}/dicom-web"]) == 5
    assert "TLS failure" in capsys.readouterr().err
