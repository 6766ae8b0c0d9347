"""Where the user's data folder cannot be written, the PACS database lives for the session
only, in a temporary folder that is gone when the service shuts down."""

from __future__ import annotations

from pathlib import Path

import pytest

import workstation.ui.pacs_service as pacs_service
from workstation.analyses.panel_api import ViewerContext
from workstation.compute.backend import cpu_backend
from workstation.io.database import StudyDatabase
from workstation.jobs.runner import JobRunner

pytestmark = pytest.mark.ui


def test_a_read_only_data_folder_keeps_the_database_for_the_session(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(pacs_service.tempfile, "tempdir", None)  # TMPDIR read again

    def refuse(path: str | Path | None = None, cache_root: str | Path | None = None) -> StudyDatabase:
        if path is None:  # the user's data folder
            raise PermissionError(13, "Permission denied")
        return StudyDatabase(path, cache_root)

    monkeypatch.setattr(pacs_service, "StudyDatabase", refuse)
    service = pacs_service.PacsService(ViewerContext(JobRunner(backend=cpu_backend())), None)
    session = service.database.path.parent
    assert session.parent == tmp_path / "tmp" and session.name.startswith("workstation-session-")
    assert service.database.path.is_file() and service.cache.root.parent == session
    service.shutdown()
    assert not session.exists()  # nothing is left behind in TMPDIR
    assert list((tmp_path / "tmp").iterdir()) == []
