"""Template specs: the declarative description of a kind of return.

A spec in ``templates/*.yaml`` says which sheets a return has, which columns are
locked or editable, their types, the allowed values with colours and definitions,
and the rules checked on return. This module is the only parser of specs: the
generator, the reader and the validator all work from the frozen objects it returns.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from xlplan.errors import TemplateError

ColumnType = Literal["text", "number", "date", "choice"]
Source = Literal["plan", "previous", "input"]
SheetKind = Literal["rows", "groups"]
Severity = Literal["error", "warning"]

_TYPES = {"text", "number", "date", "choice"}
_RULE_KINDS = {"required_when", "overdue", "past_date", "tolerance", "unchanged"}


@dataclass(frozen=True)
class Choice:
    value: str
    fill: str
    font: str
    definition: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChoiceList:
    key: str
    title: str
    values: tuple[Choice, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.values)

    def get(self, value: str) -> Choice | None:
        return next((c for c in self.values if c.value == value), None)

    def normalise(self, text: str) -> str | None:
        """The allowed value `text` unambiguously means, or None.

        Only case, surrounding spaces and declared aliases are forgiven: "green ",
        "GREEN" and "G" all mean Green. Anything else is for a person to correct.
        """
        wanted = " ".join(text.split()).casefold()
        for choice in self.values:
            if wanted == choice.value.casefold():
                return choice.value
            if any(wanted == alias.casefold() for alias in choice.aliases):
                return choice.value
        return None

    def suggest(self, text: str) -> str | None:
        """The closest allowed value to a typo such as "Grenn", if any is close."""
        lowered = {c.value.casefold(): c.value for c in self.values}
        close = difflib.get_close_matches(text.strip().casefold(), lowered, n=1, cutoff=0.6)
        return lowered[close[0]] if close else None


@dataclass(frozen=True)
class PlanColumn:
    key: str
    header: str
    type: ColumnType = "text"
    required: bool = False
    width: float = 14


@dataclass(frozen=True)
class PlanSpec:
    items_sheet: str
    recipients_sheet: str
    recipient_label: str
    assign_by: str  # a plan column listing recipients, or "all"
    group_by: str
    key: str
    columns: tuple[PlanColumn, ...]

    def column(self, key: str) -> PlanColumn:
        return next(c for c in self.columns if c.key == key)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    source: Source = "input"
    field: str = ""  # for source "previous": which field of last cycle's values
    type: ColumnType = "text"
    choices: str | None = None
    required: bool = False
    width: float = 14
    max_length: int | None = None
    help: str = ""

    @property
    def editable(self) -> bool:
        return self.source == "input"


@dataclass(frozen=True)
class Sheet:
    name: str
    kind: SheetKind
    title: str
    help: str
    columns: tuple[Column, ...]

    @property
    def editable_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.editable)

    @property
    def locked_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.editable)

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)


@dataclass(frozen=True)
class Rule:
    kind: str
    severity: Severity
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    name: str
    version: int
    title: str
    plan: PlanSpec
    choices: dict[str, ChoiceList]
    sheets: tuple[Sheet, ...]
    rules: tuple[Rule, ...]
    summary: dict[str, Any]
    source: str

    @property
    def rows_sheet(self) -> Sheet:
        """The sheet with one row per plan item (the one sponsors mostly fill)."""
        return next(s for s in self.sheets if s.kind == "rows")

    @property
    def groups_sheet(self) -> Sheet | None:
        return next((s for s in self.sheets if s.kind == "groups"), None)

    @property
    def status_column(self) -> str | None:
        return self.summary.get("status")

    @property
    def status_choices(self) -> ChoiceList | None:
        col = self.rows_sheet.column(self.status_column or "")
        return self.choices[col.choices] if col and col.choices else None


# --- loading -----------------------------------------------------------------


def builtin_names() -> list[str]:
    root = resources.files("xlplan.templates")
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def load_template(name: str, search: Path | None = None) -> Template:
    """Load template `name`: from `search/templates/` if the plan folder has its own, else built in."""
    if search is not None:
        local = search / "templates" / f"{name}.yaml"
        if local.is_file():
            return parse_template(local.read_text(encoding="utf-8"), str(local))
    ref = resources.files("xlplan.templates") / f"{name}.yaml"
    if not ref.is_file():
        known = ", ".join(builtin_names()) or "none"
        raise TemplateError(f"No template called {name!r}. Known templates: {known}.")
    return parse_template(ref.read_text(encoding="utf-8"), f"templates/{name}.yaml")


def parse_template(text: str, source: str) -> Template:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise TemplateError(f"{source}: expected a mapping at the top level")
    try:
        return _build(raw, source)
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(f"{source}: {exc}") from exc


def _need(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ValueError(f"{where} needs '{key}'")
    return mapping[key]


def _build(raw: dict[str, Any], source: str) -> Template:
    choices = {
        key: ChoiceList(
            key=key,
            title=spec.get("title", key),
            values=tuple(
                Choice(
                    value=str(v["value"]),
                    fill=v.get("fill", "#FFFFFF"),
                    font=v.get("font", "#000000"),
                    definition=v.get("definition", ""),
                    aliases=tuple(str(a) for a in v.get("aliases", ())),
                )
                for v in _need(spec, "values", f"choices.{key}")
            ),
        )
        for key, spec in (raw.get("choices") or {}).items()
    }
    plan_raw = _need(raw, "plan", "the template")
    plan = PlanSpec(
        items_sheet=_need(plan_raw, "items_sheet", "plan"),
        recipients_sheet=_need(plan_raw, "recipients_sheet", "plan"),
        recipient_label=plan_raw.get("recipient_label", "recipient"),
        assign_by=plan_raw.get("assign_by", "all"),
        group_by=plan_raw.get("group_by", ""),
        key=plan_raw.get("key", "ref"),
        columns=tuple(PlanColumn(**c) for c in _need(plan_raw, "columns", "plan")),
    )
    sheets = tuple(_sheet(s, choices, plan) for s in _need(raw, "sheets", "the template"))
    rules = tuple(_rule(r) for r in raw.get("rules") or ())
    template = Template(
        name=str(_need(raw, "name", "the template")),
        version=int(_need(raw, "version", "the template")),
        title=raw.get("title", raw["name"]),
        plan=plan,
        choices=choices,
        sheets=sheets,
        rules=rules,
        summary=raw.get("summary") or {},
        source=source,
    )
    _check(template)
    return template


def _sheet(raw: dict[str, Any], choices: dict[str, ChoiceList], plan: PlanSpec) -> Sheet:
    name = _need(raw, "name", "a sheet")
    plan_types = {c.key: c.type for c in plan.columns}
    columns = []
    for c in _need(raw, "columns", f"sheet {name}"):
        c = dict(c)
        c["source"] = c.pop("from", "input")
        if c["source"] not in ("plan", "previous", "input"):
            raise ValueError(
                f"sheet {name}, column {c.get('key')}: unknown from {c['source']!r} (plan, previous or input)"
            )
        if c["source"] == "plan" and "type" not in c:
            c["type"] = plan_types.get(c["key"], "text")  # a plan column keeps its plan type
        try:
            col = Column(**c)
        except TypeError as exc:
            raise ValueError(f"sheet {name}, column {c.get('key')}: {exc}") from exc
        if col.type not in _TYPES:
            raise ValueError(f"sheet {name}, column {col.key}: unknown type {col.type!r}")
        if col.choices and col.choices not in choices:
            raise ValueError(f"sheet {name}, column {col.key}: no choice list {col.choices!r}")
        columns.append(col)
    if raw.get("kind", "rows") not in ("rows", "groups"):
        raise ValueError(f"sheet {name}: unknown kind {raw.get('kind')!r} (rows or groups)")
    return Sheet(
        name=name,
        kind=raw.get("kind", "rows"),
        title=raw.get("title", name),
        help=raw.get("help", ""),
        columns=tuple(columns),
    )


def _rule(raw: dict[str, Any]) -> Rule:
    raw = dict(raw)
    kind = _need(raw, "kind", "a rule")
    if kind not in _RULE_KINDS:
        raise ValueError(f"unknown rule kind {kind!r} (known: {', '.join(sorted(_RULE_KINDS))})")
    severity = raw.pop("severity", "error")
    if severity not in ("error", "warning"):
        raise ValueError(f"rule {kind}: severity must be error or warning")
    message = _need(raw, "message", f"rule {kind}")
    del raw["kind"], raw["message"]
    return Rule(kind=kind, severity=severity, message=message, params=raw)


def _check(t: Template) -> None:
    """Cross-references a typo in a spec would otherwise turn into a KeyError at run time."""
    plan_keys = {c.key for c in t.plan.columns}
    for c in t.plan.columns:
        if c.type not in _TYPES:
            raise ValueError(f"plan column {c.key}: unknown type {c.type!r}")
    if t.plan.key not in plan_keys:
        raise ValueError(f"plan.key {t.plan.key!r} is not a plan column")
    if t.plan.assign_by != "all" and t.plan.assign_by not in plan_keys:
        raise ValueError(f"plan.assign_by {t.plan.assign_by!r} is not a plan column or 'all'")
    if [s.kind for s in t.sheets].count("rows") != 1:
        raise ValueError("a template needs exactly one sheet of kind 'rows'")
    for sheet in t.sheets:
        for col in sheet.columns:
            if col.source == "plan" and col.key not in plan_keys:
                raise ValueError(f"sheet {sheet.name}: column {col.key!r} is not a plan column")
    rows = t.rows_sheet
    if rows.columns[0].key != t.plan.key or rows.columns[0].source != "plan":
        raise ValueError(f"sheet {rows.name}: the first column must be the plan key {t.plan.key!r}")
