"""DICOMweb client over dicomweb-client: QIDO-RS search, WADO-RS retrieve, STOW-RS store.

The session carries the node's credentials (HTTP basic or a bearer token, from
:mod:`~workstation.io.pacs.credentials`), its CA bundle and client certificate, and a
time-out on every request.  Every HTTP or network fault is raised as a
:class:`~workstation.io.pacs.errors.PacsError` naming the node.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from pydicom.dataset import Dataset

from workstation.io.pacs.credentials import require_secret
from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import DicomWebNode
from workstation.io.pacs.query import (
    RETURN_KEYS,
    InstanceRow,
    PatientRow,
    Query,
    Row,
    StudyRow,
    matches,
    qido_filters,
    row_from_json,
)
from workstation.io.pacs.transfer import SopSink

#: Ask for instances in the transfer syntax they are stored in (no server-side transcoding).
ACCEPT_AS_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*'
STOW_BATCH_BYTES = 64 * 1024 * 1024
PAGE = 1000


class DicomWebClient:
    """QIDO/WADO/STOW against one DICOMweb node."""

    def __init__(self, node: DicomWebNode) -> None:
        self.node = node
        self._auth = require_secret(node) if node.auth.kind != "none" else ""
        self._local = threading.local()

    @property
    def _client(self) -> Any:
        """This thread's dicomweb-client (each thread its own HTTP session)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._new_client()
        return client

    def _new_client(self) -> Any:
        from dicomweb_client.api import DICOMwebClient

        node = self.node
        session = LiteralWildcardSession()
        if node.auth.kind == "basic":
            session.auth = (node.auth.username, self._auth)
        elif node.auth.kind == "bearer":
            session.headers["Authorization"] = f"Bearer {self._auth}"
        if node.tls is not None:
            session.verify = (node.tls.ca_file or True) if node.tls.verify else False
            if node.tls.cert_file:
                session.cert = (node.tls.cert_file, node.tls.key_file) if node.tls.key_file else node.tls.cert_file
        client = DICOMwebClient(node.url, session=session, timeout=node.timeout_s, chunk_size=1 << 20)
        # Its retries also repeat refused connections and time-outs, with back-off (31 s
        # in all): a fault is reported at once instead, and the user or script retries.
        client.set_http_retry_params(retry=False)
        return client

    def _fail(self, fault: Fault, detail: str) -> PacsError:
        return PacsError(self.node.label, fault, detail)

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Turn the faults of one exchange into :class:`PacsError` (``what`` names it)."""
        try:
            yield
        except requests.exceptions.SSLError as exc:
            reason = "certificate not trusted" if "CERTIFICATE_VERIFY_FAILED" in str(exc) else "handshake failed"
            raise self._fail(Fault.TLS, f"{what}: {reason}") from None
        except requests.exceptions.Timeout:
            raise self._fail(Fault.TIMEOUT, f"no answer to {what} within {self.node.timeout_s:g} s") from None
        except requests.exceptions.ConnectionError as exc:
            text = str(exc)
            if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
                detail = "unknown host"
            elif "Connection refused" in text:
                detail = "connection refused: is the server running and is this its port?"
            else:
                detail = "the connection failed or was closed"
            raise self._fail(Fault.UNREACHABLE, f"{what}: {detail}") from None
        except requests.exceptions.HTTPError as exc:
            raise self._http_fault(what, exc.response) from None
        except ValueError as exc:  # dicomweb-client: a malformed answer
            raise self._fail(Fault.PROTOCOL, f"{what}: unexpected answer ({exc})") from None

    def _http_fault(self, what: str, response: Any) -> PacsError:
        code = int(getattr(response, "status_code", 0) or 0)
        reason = str(getattr(response, "reason", "") or "")
        if code == 401:
            who = f"user {self.node.auth.username!r}" if self.node.auth.kind == "basic" else "the credentials"
            return self._fail(Fault.AUTH, f"{what}: the server refused {who} (HTTP 401 {reason})".rstrip())
        if code == 403:
            return self._fail(Fault.AUTH, f"{what}: access denied (HTTP 403)")
        if code == 404:
            return self._fail(Fault.NOT_FOUND, f"{what}: not found (HTTP 404); is the DICOMweb path right?")
        return self._fail(Fault.REFUSED, f"{what}: HTTP {code} {reason}".rstrip())

    # -- QIDO-RS ------------------------------------------------------------------------
    def echo(self) -> float:
        """A minimal QIDO-RS study search; returns its round trip in seconds."""
        start = time.monotonic()
        with self.guard("QIDO-RS"):
            self._client.search_for_studies(limit=1)
        return time.monotonic() - start

    def find(self, level: str, query: Query) -> list[Row]:
        """QIDO-RS at study, series or instance level; patients are grouped from studies."""
        if level == "PATIENT":
            return _patients(self.find("STUDY", query))
        fields = list(RETURN_KEYS[level])
        filters, loosened = qido_filters(level, query)
        with self.guard(f"QIDO-RS {level.lower()} search"):
            if level == "STUDY":
                found = self._pages(lambda **page: self._client.search_for_studies(
                    search_filters=filters, fields=fields, **page))
            elif level == "SERIES":
                found = self._pages(lambda **page: self._client.search_for_series(
                    query.study_uid, search_filters=filters, fields=fields, **page))
            else:
                found = self._pages(lambda **page: self._client.search_for_instances(
                    query.study_uid, query.series_uid, fields=fields, **page))
        rows = [row_from_json(level, obj) for obj in found]
        return [r for r in rows if matches(r, query)] if loosened else rows

    def _pages(self, search: Callable[..., list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Every result of a search, asked for in pages of :data:`PAGE`.

        A next page is asked for only when a page came back full or the server warned
        that results were left out, and paging stops at a page bringing nothing new
        (servers that ignore ``offset`` would otherwise repeat themselves forever).
        """
        session = self._client._session
        results: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            session.warned = False
            page = search(limit=PAGE, offset=len(results))
            fresh = [obj for obj in page if json.dumps(obj, sort_keys=True) not in seen]
            seen.update(json.dumps(obj, sort_keys=True) for obj in fresh)
            results += fresh
            if not fresh or (len(page) < PAGE and not session.warned):
                return results

    # -- WADO-RS ------------------------------------------------------------------------
    def fetch(self, study_uid: str, series_uid: str, instances: Sequence[InstanceRow] | None,
              sink: SopSink, tick: Callable[[], None], sop_classes: Sequence[str] = ()) -> None:
        """WADO-RS a whole series (``instances`` ``None``) or the listed instances.

        Instances are asked for as stored (no transcoding) and kept byte for byte as
        the server sent them.
        """
        paths = [f"studies/{study_uid}/series/{series_uid}"] if instances is None else [
            f"studies/{study_uid}/series/{series_uid}/instances/{row.sop_uid}" for row in instances]
        with self.guard("WADO-RS"):
            for path in paths:
                for part in self._parts(path):
                    sink.write_bytes(part)
                    tick()

    def _parts(self, path: str) -> Iterator[bytes]:
        """The parts of a ``multipart/related; type="application/dicom"`` answer, streamed.

        dicomweb-client's public calls parse each part into a pydicom dataset; its own
        request and multipart reader are used here so the bytes are neither decoded nor
        re-encoded (a third of the transfer's time, and the file stays as sent).  The
        WADO-RS round-trip tests fail should these helpers change.
        """
        client = self._client
        url = f"{self.node.url}/{path}"
        response = client._http_get(url, headers={"Accept": ACCEPT_AS_STORED}, stream=True)
        if response.headers.get("Content-Type", "").startswith("application/dicom"):
            yield response.content  # a single part sent bare (some servers)
            return
        yield from client._decode_multipart_message(response, stream=True)

    # -- STOW-RS ------------------------------------------------------------------------
    def store(self, files: Sequence[tuple[Path, str, str]], tick: Callable[[Path, str | None], None]) -> None:
        """STOW-RS the files in batches of about 64 MB; ``tick(path, error)`` after each."""
        import pydicom

        batch: list[tuple[Path, Dataset]] = []
        size = 0
        for path, _, _ in files:
            batch.append((path, pydicom.dcmread(path)))
            size += path.stat().st_size
            if size >= STOW_BATCH_BYTES:
                self._stow(batch, tick)
                batch, size = [], 0
        if batch:
            self._stow(batch, tick)

    def _stow(self, batch: list[tuple[Path, Dataset]], tick: Callable[[Path, str | None], None]) -> None:
        with self.guard("STOW-RS"):
            answer = self._client.store_instances([ds for _, ds in batch])
        failed = {}
        for item in answer.get("FailedSOPSequence", []) or []:
            failed[str(item.get("ReferencedSOPInstanceUID", ""))] = int(item.get("FailureReason", 0) or 0)
        for path, ds in batch:
            reason = failed.get(str(ds.SOPInstanceUID))
            tick(path, None if reason is None else f"STOW-RS refused it (failure reason 0x{reason:04X})")


class LiteralWildcardSession(requests.Session):
    """A session sending ``*`` in query strings as it is, and noting QIDO-RS warnings.

    dicomweb-client percent-encodes ``*``, and Orthanc 1.10 does not decode query
    values.  ``warned`` is set when a response carries a ``Warning`` header (a server
    saying it left results out, PS3.18 8.3.4.4).  The session's ``verify`` is applied
    to every request.
    """

    warned = False

    def send(self, request: Any, **kwargs: Any) -> Any:
        response = super().send(request, **kwargs)
        if "Warning" in response.headers:
            self.warned = True
        return response

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and "?" in url:
            head, _, query = url.partition("?")
            url = f"{head}?{query.replace('%2A', '*')}"
        if kwargs.get("verify") is None:
            # the node's CA file (or "don't verify") must win over $REQUESTS_CA_BUNDLE,
            # which requests would otherwise prefer to the session's setting
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


def _patients(studies: list[Row]) -> list[Row]:
    by_id: dict[str, list[StudyRow]] = {}
    for row in studies:
        if isinstance(row, StudyRow):
            by_id.setdefault(row.patient_id, []).append(row)
    return [PatientRow(pid, rows[0].patient_name, rows[0].birth_date, rows[0].sex, len(rows))
            for pid, rows in by_id.items()]
