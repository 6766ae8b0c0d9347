"""An import-linter contract type the built-in ones cannot express: a ban with exempt names.

``forbidden_except_names``: every module of ``source_packages`` (and the packages
themselves) must not import the ``forbidden_modules``, directly or through any chain,
unless the module's own last name matches one of ``exempt_names`` (shell patterns such
as ``panel`` and ``panel_*``).  A new module is covered the moment it exists, and a chain
through an exempt module still counts (logic importing a panel is caught).

Used by ``pyproject.toml`` (``contract_types``); ``scripts/test.sh`` puts this folder on
``PYTHONPATH`` for ``lint-imports``.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from importlinter import Contract, ContractCheck, fields, output


class ForbiddenExceptNamesContract(Contract):
    """Modules of some packages may not import some others, except modules with exempt names."""

    type_name = "forbidden_except_names"

    source_packages = fields.ListField(subfield=fields.StringField())
    exempt_names = fields.ListField(subfield=fields.StringField())
    forbidden_modules = fields.ListField(subfield=fields.StringField())

    def _sources(self, graph: Any) -> list[str]:
        found: set[str] = set()
        for package in self.source_packages:  # type: ignore[attr-defined]
            if package not in graph.modules:
                continue
            found.add(package)
            found |= graph.find_descendants(package)
        exempt = list(self.exempt_names)  # type: ignore[attr-defined]
        return sorted(m for m in found if not any(fnmatchcase(m.rsplit(".", 1)[-1], p) for p in exempt))

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        chains: list[tuple[str, ...]] = []
        present = [m for m in self.forbidden_modules if m in graph.modules]  # type: ignore[attr-defined]
        for module in self._sources(graph):
            for forbidden in present:
                chain = graph.find_shortest_chain(importer=module, imported=forbidden, as_packages=False)
                if chain:
                    chains.append(tuple(chain))
        return ContractCheck(kept=not chains, warnings=[], metadata={"chains": chains})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for chain in check.metadata["chains"]:
            output.print_error(" -> ".join(chain), bold=False)
            output.new_line()
