"""What an annotated copy of a return carries: the sponsor's own values and the issues found in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xlplan.issues import Issue


@dataclass
class Annotations:
    """A sponsor's own values and the issues found in them, for an annotated copy."""

    filled: dict[str, dict[str, Any]]  # ref -> column key -> value as the sponsor typed it
    issues: list[Issue]
    groups: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> field -> text

    def cell_issues(self) -> dict[tuple[str, str], list[Issue]]:
        out: dict[tuple[str, str], list[Issue]] = {}
        for issue in self.issues:
            if issue.ref and issue.field and issue.severity != "note":
                out.setdefault((issue.ref, issue.field), []).append(issue)
        return out
