"""A template's roles: what the code needs to know of its columns (which plan column names an
item, which column is the return's main note, the due date and where a new one is proposed,
the tolerance rule whose disagreements the master lists), each as the spec's `roles:`
declares it, else the default the README documents, checked against the columns at load."""

from __future__ import annotations

import dataclasses
from typing import Any

from xlplan.spec_errors import SpecError, suggest
from xlplan.template import PlanSpec, Roles, Rule, Template

ROLES = {"label", "progress", "due", "revised", "contradictions"}


def with_roles(t: Template, raw: Any) -> Template:
    """The template with its roles resolved: each as `roles:` declares it, else its default
    (README, "Roles"). A role set to null is declared absent (no due date, say)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SpecError("roles must be a mapping {role: column}", ("roles",))
    for key in raw:
        if key not in ROLES:
            raise SpecError(
                f"roles: unknown role {key!r}{suggest(str(key), ROLES)} (roles: {', '.join(sorted(ROLES))})",
                ("roles", key),
                str(key),
            )
    rows, spec = t.rows_sheet, t.plan
    editable = rows.editable_columns
    own = [r for r in t.rules if not r.params.get("derived")]
    overdue = next((r.check for r in own if r.kind == "overdue"), None)
    plan_dates = [c.key for c in spec.columns if c.type == "date"]

    def pick(role: str, default: str | None, allowed: list[str], what: str) -> str | None:
        if role not in raw:
            return default
        value = raw[role]
        if value is None:
            return None
        if str(value) not in allowed:
            raise SpecError(
                f"roles.{role}: {value!r} is not {what}{suggest(str(value), allowed)}", ("roles", role), str(value)
            )
        return str(value)

    title = t.summary.get("title")
    label = pick("label", str(title) if title else _widest_text(spec), [c.key for c in spec.columns], "a plan column")
    if label is None:
        raise SpecError("roles.label must name a plan column", ("roles", "label"), "label")
    if title and label != title:
        raise SpecError(
            f"roles.label {label!r} and summary.title {title!r} disagree: give one", ("roles", "label"), label
        )
    texts = [c.key for c in editable if c.type == "text"]
    dates = [c.key for c in editable if c.type == "date"]
    roles = Roles(
        label=label,
        progress=pick("progress", next(iter(texts), None), texts, "an editable text column of the rows sheet"),
        due=pick(
            "due", getattr(overdue, "date", None) or next(iter(plan_dates), None), plan_dates, "a plan date column"
        ),
        revised=pick(
            "revised", getattr(overdue, "revised", None) or next(iter(dates), None), dates, "an editable date column"
        ),
        contradictions=_contradictions(own, raw),
    )
    return dataclasses.replace(t, roles=roles, summary={"title": label, **t.summary})


def _widest_text(spec: PlanSpec) -> str:
    """The default label: the widest text column that is not the key, the group or the assignee."""
    others = [c for c in spec.columns if c.type == "text" and c.key not in (spec.key, spec.group_by, spec.assign_by)]
    return max(others, key=lambda c: c.width).key if others else spec.key


def _contradictions(rules: list[Rule], raw: dict[str, Any]) -> Rule | None:
    """The tolerance rule named by `roles.contradictions`, else the first one; null: none."""
    measures = [r for r in rules if r.kind == "tolerance"]
    if "contradictions" not in raw:
        return measures[0] if measures else None
    name = raw["contradictions"]
    if name is None:
        return None
    found = next((r for r in measures if r.name == str(name)), None)
    if found is None:
        named = [r.name for r in measures if r.name]
        raise SpecError(
            f"roles.contradictions: no tolerance rule has name: {name!r}{suggest(str(name), named)}",
            ("roles", "contradictions"),
            str(name),
        )
    return found
