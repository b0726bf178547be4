"""The deployment's agencies: who may be named as a report's source, and how they are spelt.

A report names the agency that made it. Free text there once held a person's name and phone
number, so only the deployment's configured agencies are accepted (``STREETSAFE_AGENCIES``, a
CSV of ``name`` and ``also``: other spellings separated by ``;``), each stored under its one
name. Case and spacing are ignored; anything else is refused with the closest names.

Agencies reference the women they meet in their own ways (the police by their own numbers, the
outreach service by its codes): one woman may be ``P-99881`` to one and ``AB-17`` to the other.
The optional column ``references`` names the scheme an agency's person references come from;
agencies naming the same scheme share references. An agency naming none is a scheme of its own,
so that counting people for partner releases never takes two agencies' references for two women.
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass, field
from pathlib import Path

from geo.errors import ConfigError
from ingest.pseudonyms import fold_name


@dataclass(frozen=True)
class Agencies:
    """Accepted spellings (folded) -> the agency's name; and each agency's reference scheme."""

    names: dict[str, str]
    schemes: dict[str, str] = field(default_factory=dict)  # agency -> scheme, where one is named

    @classmethod
    def load(cls, path: Path) -> Agencies:
        """Read a CSV with columns ``name`` and (optional) ``also`` and ``references``."""
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise ConfigError(f"cannot read the agencies file {path}: {exc.strerror}") from None
        names: dict[str, str] = {}
        schemes: dict[str, str] = {}
        for line, row in enumerate(rows, start=2):
            name = (row.get("name") or "").strip()
            if not name:
                raise ConfigError(f"agencies file {path}, line {line}: needs a name")
            if scheme := (row.get("references") or "").strip():
                schemes[name] = scheme
            for spelling in [name, *(row.get("also") or "").split(";")]:
                folded = fold_name(spelling)
                if folded and names.setdefault(folded, name) != name:
                    raise ConfigError(
                        f"agencies file {path}, line {line}: {spelling.strip()!r} already "
                        f"names {names[folded]!r}"
                    )
        if not names:
            raise ConfigError(f"agencies file {path} names no agency")
        return cls(names, schemes)

    def canonical(self, text: str) -> str | None:
        """Return the agency ``text`` names, or None if it names none of the deployment's."""
        return self.names.get(fold_name(text))

    def suggest(self, text: str) -> list[str]:
        """Return up to three agencies whose names are close to ``text`` (best first)."""
        close = difflib.get_close_matches(fold_name(text), list(self.names), n=6, cutoff=0.5)
        return list(dict.fromkeys(self.names[c] for c in close))[:3]

    def reference_schemes(self) -> tuple[tuple[str, str], ...]:
        """Return (agency, scheme) for each agency that shares its person references with
        others (agencies not listed are schemes of their own)."""
        return tuple(sorted(self.schemes.items()))

    def family(self, agency: str) -> frozenset[str]:
        """Return ``agency`` and every agency sharing its reference scheme (one service, such
        as an outreach team and its van): the agencies its people may upload rows for."""
        scheme = self.schemes.get(agency)
        if scheme is None:
            return frozenset({agency})
        return frozenset(a for a, s in self.schemes.items() if s == scheme) | {agency}

    @property
    def all(self) -> list[str]:
        """Every agency's name, in the file's order."""
        return list(dict.fromkeys(self.names.values()))
