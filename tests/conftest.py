"""Settings shared by every test folder."""

from __future__ import annotations

from typing import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _logs_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Entry points called by tests (``app.main``, the batch command) log to a temporary
    folder, never into the user's real log folder; the user data folder (saved
    annotations, the local study database) and the job queue are temporary ones too."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKSTATION_LOG_DIR", str(tmp_path_factory.mktemp("logs")))
        mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
        mp.setenv("WORKSTATION_QUEUE", str(tmp_path_factory.mktemp("queue") / "jobs.sqlite"))
        yield
