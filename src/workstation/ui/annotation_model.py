"""The annotations of the open study, with undo and redo: what every 2D view draws.

Adding, deleting and clearing are commands on a :class:`QUndoStack`, so Ctrl+Z and
Ctrl+Shift+Z (or Ctrl+Y) step through them.  ``changed`` tells the views to redraw and
the store (:mod:`workstation.ui.annotation_store`) to save.  Annotations loaded from a
saved report replace the list without an undo step.
"""

from __future__ import annotations

from typing import Iterable, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from workstation.core.annotations import TITLES, Annotation

#: How the table prints UCUM units.
UNITS = {"mm2": "mm²", "deg": "°", "[hnsf'U]": "HU", "1": ""}


class _Replace(QUndoCommand):
    """Swap the model's list for another (every edit is one of these)."""

    def __init__(self, model: "AnnotationModel", after: list[Annotation], text: str) -> None:
        super().__init__(text)
        self.model, self.before, self.after = model, list(model.items), list(after)

    def redo(self) -> None:
        self.model._set(self.after)

    def undo(self) -> None:
        self.model._set(self.before)


class AnnotationModel(QObject):
    """An ordered list of :class:`~workstation.core.annotations.Annotation` for one study."""

    changed = Signal()
    edited = Signal()  # a user edit (not a load): the annotations should be saved

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.items: list[Annotation] = []
        self.study_uid = ""
        self.undo_stack = QUndoStack(self)

    def _set(self, items: list[Annotation]) -> None:
        self.items = list(items)
        self.changed.emit()
        self.edited.emit()

    def next_label(self, kind: str) -> str:
        """``Distance 3``: the kind's title and the next free number for it."""
        used = {a.label for a in self.items}
        n = 1
        while f"{TITLES[kind]} {n}" in used:
            n += 1
        return f"{TITLES[kind]} {n}"

    def add(self, annotation: Annotation) -> Annotation:
        """Add one annotation (undoable); it gets a label when it has none."""
        if not annotation.label:
            annotation = annotation.with_label(self.next_label(annotation.kind))
        self.undo_stack.push(_Replace(self, self.items + [annotation], f"add {annotation.label}"))
        return annotation

    def remove(self, uid: str) -> None:
        kept = [a for a in self.items if a.uid != uid]
        if len(kept) != len(self.items):
            self.undo_stack.push(_Replace(self, kept, "delete annotation"))

    def remove_last(self) -> None:
        if self.items:
            self.remove(self.items[-1].uid)

    def clear(self) -> None:
        if self.items:
            self.undo_stack.push(_Replace(self, [], "clear annotations"))

    def load(self, study_uid: str, items: Iterable[Annotation]) -> None:
        """Show the annotations saved for ``study_uid`` (no undo step; nothing to save)."""
        self.study_uid = study_uid
        self.items = list(items)
        self.undo_stack.clear()
        self.changed.emit()

    def table_rows(self) -> list[tuple[str, str, str, str]]:
        """(label, kind, measurements, where) per annotation, for the table and the clipboard."""
        rows = []
        for a in self.items:
            values = "; ".join(f"{n} {v:.2f} {UNITS.get(u, u)}".strip() for n, v, u in a.values)
            if a.kind in ("text", "arrow") and a.text:
                values = a.text + (f"; {values}" if values else "")
            where = (f"image {a.sop_instance_uid[-12:]}" + (f" frame {a.frame_number}" if a.frame_number else "")
                     if a.space == "image" else
                     "(" + ", ".join(f"{v:.1f}" for v in a.points[0]) + ") mm")
            rows.append((a.label, TITLES[a.kind], values, where))
        return rows

    def as_tsv(self) -> str:
        """The measurements as tab-separated text with a heading row (pastes into a spreadsheet)."""
        lines = ["Label\tKind\tMeasurements\tWhere"]
        lines += ["\t".join(row) for row in self.table_rows()]
        return "\n".join(lines) + "\n"
