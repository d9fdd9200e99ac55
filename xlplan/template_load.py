"""Loading a template spec: a `templates/*.yaml` file (the plan folder's own, or one built
in) parsed into the frozen objects of `xlplan.template`, and every part of it checked at
load (a misspelt parameter, a column no sheet has, a rule of an unknown kind), so that a
bad spec fails when it is read, not half-way through a cycle. The only parser of specs."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from xlplan.errors import TemplateError
from xlplan.template import (
    _RULE_KINDS,
    _SUMMARY_KINDS,
    _TYPES,
    RULE_PARAMS,
    Choice,
    ChoiceList,
    Column,
    DistributionSummary,
    LockedRows,
    PlanColumn,
    PlanSpec,
    Rule,
    Sheet,
    SplitFlag,
    Template,
    _need,
    _outcomes,
)


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
        return dataclasses.replace(_build(raw, source), digest=hashlib.sha256(text.encode("utf-8")).hexdigest())
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(f"{source}: {exc}") from exc


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
    for key, listed in choices.items():
        for choice in listed.values:
            if "," in choice.value or not choice.value.strip():
                raise ValueError(
                    f"choices.{key}: the value {choice.value!r} "
                    + ("contains a comma" if choice.value.strip() else "is empty")
                    + ": Excel's dropdown lists split values at commas, so it could never be chosen. "
                    "Write it without a comma (e.g. 'On hold - funding' for 'On hold, funding')."
                )
    plan_raw = _need(raw, "plan", "the template")
    plan = PlanSpec(
        items_sheet=_need(plan_raw, "items_sheet", "plan"),
        recipients_sheet=_need(plan_raw, "recipients_sheet", "plan"),
        recipient_label=plan_raw.get("recipient_label", "recipient"),
        assign_by=plan_raw.get("assign_by", "all"),
        group_by=plan_raw.get("group_by", ""),
        key=plan_raw.get("key", "ref"),
        columns=tuple(_plan_column(c) for c in _need(plan_raw, "columns", "plan")),
        previous_key=plan_raw.get("previous_key", ""),
        group_id=plan_raw.get("group_id", ""),
    )
    sheets = tuple(_sheet(s, choices, plan) for s in _need(raw, "sheets", "the template"))
    rules = tuple(_rule(r) for r in raw.get("rules") or ())
    rules += tuple(r for s in sheets for r in _locked_row_rules(s, choices))
    summary = raw.get("summary") or {}
    if not isinstance(summary, dict):
        raise ValueError("summary must be a mapping")
    template = Template(
        name=str(_need(raw, "name", "the template")),
        version=int(_need(raw, "version", "the template")),
        title=raw.get("title", raw["name"]),
        plan=plan,
        choices=choices,
        sheets=sheets,
        rules=rules,
        summary=summary,
        source=source,
        distribution=_distribution(summary),
    )
    _check(template)
    return template


def _plan_column(raw: dict[str, Any]) -> PlanColumn:
    try:
        return PlanColumn(**raw)
    except TypeError as exc:
        raise ValueError(f"plan column {raw.get('key')}: {exc}") from exc


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
        if col.carry and not col.editable:
            raise ValueError(f"sheet {name}, column {col.key}: only an input column can carry its value forward")
        columns.append(col)
    if raw.get("kind", "rows") not in ("rows", "groups"):
        raise ValueError(f"sheet {name}: unknown kind {raw.get('kind')!r} (rows or groups)")
    return Sheet(
        name=name,
        kind=raw.get("kind", "rows"),
        title=raw.get("title", name),
        help=raw.get("help", ""),
        columns=tuple(columns),
        locked_rows=_locked_rows(raw, name, columns),
    )


def _locked_rows(raw: dict[str, Any], name: str, columns: list[Column]) -> LockedRows | None:
    spec = raw.get("locked_rows")
    if spec is None:
        return None
    where = f"sheet {name}, locked_rows"
    if raw.get("kind", "rows") != "rows":
        raise ValueError(f"{where}: only a sheet of kind 'rows' can lock rows")
    if not isinstance(spec, dict) or not isinstance(spec.get("when"), dict) or not spec["when"]:
        raise ValueError(f"{where} needs 'when': {{plan column: [values]}}")
    unknown = set(spec) - {"when", "note", "severity"}
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {', '.join(sorted(unknown))} (when, note, severity)")
    severity = spec.get("severity", "error")
    if severity not in ("error", "warning"):
        raise ValueError(f"{where}: severity must be error or warning, not {severity!r}")
    by_key = {c.key: c for c in columns}
    when: dict[str, tuple[str, ...]] = {}
    for key, values in spec["when"].items():
        col = by_key.get(key)
        if col is None or col.editable:
            raise ValueError(
                f"{where}: {key!r} is not a plan column shown on this sheet (nor last cycle's value of one)"
            )
        values = values if isinstance(values, list) else [values]
        when[key] = tuple(str(v) for v in values)
    return LockedRows(when=when, note=str(spec.get("note", "")), severity=severity)


def _locked_row_rules(sheet: Sheet, choices: dict[str, ChoiceList]) -> list[Rule]:
    """What `locked_rows` means on return, as generic rules: every editable cell of a locked
    row must be blank (one rule per column, so each issue names its cell), and a required
    column is required everywhere else."""
    lock = sheet.locked_rows
    if lock is None:
        return []
    when = {k: list(v) for k, v in lock.when.items()}
    note = _literal(lock.note)
    told = "must stay blank" if lock.severity == "error" else "was filled in although this row is locked: kept"
    rules = [
        Rule(
            kind="blank_when",
            severity=lock.severity,
            message=f"{_literal(col.header)} {told}. {note}".strip(),
            params={"column": col.key, "when": when, "derived": True},
        )
        for col in sheet.editable_columns
    ]
    for col in sheet.editable_columns:
        if col.required:
            allowed = f": choose one of {', '.join(choices[col.choices].names)}" if col.choices else ""
            rules.append(
                Rule(
                    kind="required_when",
                    severity="error",
                    message=_literal(f"{col.header} is empty{allowed}."),
                    params={"column": col.key, "unless": when, "derived": True},
                )
            )
    return rules


def _literal(text: str) -> str:
    """Text put into a rule message verbatim (messages are str.format templates)."""
    return text.replace("{", "{{").replace("}", "}}")


def _distribution(summary: dict[str, Any]) -> DistributionSummary | None:
    kind = summary.get("kind", "status")
    if kind not in _SUMMARY_KINDS:
        raise ValueError(f"unknown summary kind {kind!r} (known: {', '.join(sorted(_SUMMARY_KINDS))})")
    if kind != "distribution":
        return None
    known = {"kind", "title", "column", "collate", "nonresponse_flag", "split_flag", "sheet"}
    unknown = set(summary) - known
    if unknown:
        raise ValueError(f"summary: unknown option(s) {', '.join(sorted(unknown))} ({', '.join(sorted(known))})")
    split_raw = summary.get("split_flag") or {}
    if not isinstance(split_raw, dict) or set(split_raw) - {"spread", "majority"}:
        raise ValueError("summary.split_flag must be a mapping with 'spread' and/or 'majority'")
    split = SplitFlag(
        spread=None if split_raw.get("spread", 2) is None else int(split_raw.get("spread", 2)),
        majority=None if split_raw.get("majority", 0.5) is None else float(split_raw.get("majority", 0.5)),
    )
    nonresponse = summary.get("nonresponse_flag", 0.5)
    if nonresponse is not None and not 0 <= float(nonresponse) <= 1:
        raise ValueError("summary.nonresponse_flag must be a share between 0 and 1 (e.g. 0.5)")
    collate = summary.get("collate") or []
    return DistributionSummary(
        column=str(_need(summary, "column", "a distribution summary")),
        collate=tuple(str(c) for c in (collate if isinstance(collate, list) else [collate])),
        nonresponse_flag=None if nonresponse is None else float(nonresponse),
        split_flag=split,
        sheet=str(summary.get("sheet", "Ratings"))[:31],
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
    required, optional = RULE_PARAMS[kind]
    unknown = set(raw) - required - optional
    if unknown:
        close = {u: difflib.get_close_matches(u, required | optional, n=1) for u in sorted(unknown)}
        named = ", ".join(f"{u!r}" + (f" (did you mean {c[0]!r}?)" if c else "") for u, c in close.items())
        raise ValueError(
            f"rule {kind}: unknown parameter(s) {named}; it takes {', '.join(sorted(required | optional))}"
        )
    missing = required - set(raw)
    if missing:
        raise ValueError(f"rule {kind} needs {', '.join(repr(m) for m in sorted(missing))}")
    return Rule(kind=kind, severity=severity, message=message, params=raw)


def _check(t: Template) -> None:
    """Cross-references a typo in a spec would otherwise turn into a KeyError at run time."""
    plan_keys = {c.key for c in t.plan.columns}
    for c in t.plan.columns:
        if c.type not in _TYPES:
            raise ValueError(f"plan column {c.key}: unknown type {c.type!r}")
        if c.choices and c.choices not in t.choices:
            raise ValueError(f"plan column {c.key}: no choice list {c.choices!r}")
        if c.several and not c.choices:
            raise ValueError(f"plan column {c.key}: only a column with choices can hold several")
    if t.plan.key not in plan_keys:
        raise ValueError(f"plan.key {t.plan.key!r} is not a plan column")
    if t.plan.assign_by != "all" and t.plan.assign_by not in plan_keys:
        raise ValueError(f"plan.assign_by {t.plan.assign_by!r} is not a plan column or 'all'")
    for name in ("previous_key", "group_id"):
        value = getattr(t.plan, name)
        if value and (value not in plan_keys or t.plan.column(value).required):
            raise ValueError(f"plan.{name} {value!r} is not an optional plan column")
    if [s.kind for s in t.sheets].count("rows") != 1:
        raise ValueError("a template needs exactly one sheet of kind 'rows'")
    for sheet in t.sheets:
        for col in sheet.columns:
            if col.source == "plan" and col.key not in plan_keys:
                raise ValueError(f"sheet {sheet.name}: column {col.key!r} is not a plan column")
    rows = t.rows_sheet
    if rows.columns[0].key != t.plan.key or rows.columns[0].source != "plan":
        raise ValueError(f"sheet {rows.name}: the first column must be the plan key {t.plan.key!r}")
    row_keys = {c.key for c in rows.columns}
    for rule in t.rules:
        if rule.kind == "blank_when":
            named = rule.params.get("column")
            named = named if isinstance(named, list) else [named]
            for key in [*named, *(rule.params.get("when") or {})]:
                if key not in row_keys:
                    raise ValueError(f"rule blank_when: {key!r} is not a column of sheet {rows.name}")
        if rule.kind == "tolerance":
            _check_tolerance(rule.params, row_keys, plan_keys, rows.name)
    _check_summary(t, rows)


def _check_tolerance(p: dict[str, Any], row_keys: set[str], plan_keys: set[str], sheet: str) -> None:
    """The columns a tolerance rule names exist: what comes back on the sheet, or the plan's own."""
    for name in ("actual", "status"):
        if p[name] not in row_keys:
            raise ValueError(f"rule tolerance: {name} {p[name]!r} is not a column of sheet {sheet}")
    for name in ("target", "direction", "baseline", "target_date", "due"):
        if name in p and p[name] not in plan_keys | row_keys:
            raise ValueError(f"rule tolerance: {name} {p[name]!r} is not a plan column")
    if ("direction" in p) != ("lower" in p):
        raise ValueError(
            "rule tolerance: 'direction' (a plan column) and 'lower' (its values meaning lower is better) go together"
        )
    if not isinstance(p["tolerance"], int | float) or not 0 <= p["tolerance"] < 1:
        raise ValueError(
            f"rule tolerance: tolerance must be a share between 0 and 1 (e.g. 0.05), not {p['tolerance']!r}"
        )


def _check_summary(t: Template, rows: Sheet) -> None:
    _outcomes(t)
    status = t.summary.get("status")
    if status is not None and rows.column(str(status)) is None:
        raise ValueError(f"summary.status {status!r} is not a column of sheet {rows.name}")
    title = t.summary.get("title")
    if title is not None and title not in {c.key for c in t.plan.columns}:
        raise ValueError(f"summary.title {title!r} is not a plan column")
    d = t.distribution
    if d is None:
        return
    col = rows.column(d.column)
    if col is None or not col.editable or col.type != "choice" or not col.choices:
        raise ValueError(f"summary.column {d.column!r} must be an editable choice column of sheet {rows.name}")
    for key in d.collate:
        other = rows.column(key)
        if other is None or not other.editable:
            raise ValueError(f"summary.collate: {key!r} is not an editable column of sheet {rows.name}")
