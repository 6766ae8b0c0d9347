"""A study named by its StudyInstanceUID and its files: what a queued job stores.

A queue row cannot hold a scanned :class:`~workstation.core.study.Study` (it is read
again when the job runs, maybe on another machine, maybe after a restart), so it holds
the study's UID and the paths of every file of it (image planes and non-image
objects).  :meth:`StudyRef.load` reads those headers again; a study with files gone
is refused (a part of a study would give a wrong result without saying so).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from workstation.core.study import Study


class StudyNotFound(ValueError):
    """The files of a queued study are gone or no longer hold it."""


@dataclass(frozen=True)
class StudyRef:
    """``uid`` and the files (absolute paths) of one study."""

    uid: str
    paths: tuple[str, ...]

    @classmethod
    def of(cls, study: Study) -> "StudyRef":
        """The reference of a scanned study (every file of its series and objects)."""
        files = {str(Path(f.path).resolve()) for s in study.series for f in s.frames}
        files |= {str(Path(o.ref.path).resolve()) for o in study.objects}
        return cls(study.uid, tuple(sorted(files)))

    @classmethod
    def of_folder(cls, folder: str | Path, uid: str) -> "StudyRef":
        """Study ``uid`` among the files under ``folder`` (a PACS router's storage folder)."""
        from workstation.io.dicom import scan

        for study in scan([Path(folder)]).studies:
            if study.uid == uid:
                return cls.of(study)
        raise StudyNotFound(f"study {uid} is not in {folder}")

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "paths": list(self.paths)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "StudyRef":
        return cls(str(data["uid"]), tuple(str(p) for p in data.get("paths", ())))

    def load(self) -> Study:
        """Scan the files again and return the study (:class:`StudyNotFound` if it is gone)."""
        from workstation.io.dicom import scan

        missing = [p for p in self.paths if not Path(p).is_file()]
        if missing:  # running on part of a study would give a wrong result without saying so
            raise StudyNotFound(f"study {self.uid}: {len(missing)} of its {len(self.paths)} files are gone "
                                f"(first: {Path(missing[0]).name})")
        for study in scan([Path(p) for p in self.paths]).studies:
            if study.uid == self.uid:
                return study
        raise StudyNotFound(f"study {self.uid}: its files no longer hold it")
