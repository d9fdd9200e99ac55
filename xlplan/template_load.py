"""Loading a template spec: a `templates/*.yaml` file (the plan folder's own, or one built
in) parsed into the frozen objects of `xlplan.template`, and every part of it checked at
load (a misspelt parameter, a column no sheet has, a rule of an unknown kind, a status the
summary names that the status column does not offer), so that a bad spec fails when it is
read, not half-way through a cycle, with its file, line and word (`spec_errors`). The only
parser of specs; the roles are resolved in `template_roles`."""

from __future__ import annotations

import dataclasses
import hashlib
import string
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from xlplan.errors import TemplateError
from xlplan.rules import KINDS
from xlplan.spec_errors import SpecError, line_of, placed, suggest
from xlplan.template import (
    _SUMMARY_KINDS,
    _TYPES,
    WORD_KEYS,
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
    _listed,
    _need,
    _outcomes,
)
from xlplan.template_roles import with_roles
from xlplan.values import clean_text

_STATUS_SUMMARY = {"kind", "title", "status", "attention", "complete", "outcomes"}


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
    """The template in YAML `text`, read from `source`; a TemplateError names the file, the
    line and the word of the first mistake found."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise TemplateError(f"{source}: not valid YAML: {exc}", file=source, line=line) from exc
    if not isinstance(raw, dict):
        raise TemplateError(f"{source}: expected a mapping at the top level", file=source, line=1)
    try:
        return dataclasses.replace(_build(raw, source), digest=hashlib.sha256(text.encode("utf-8")).hexdigest())
    except SpecError as exc:
        line = line_of(text, exc.at)
        where = f"{source}: line {line}" if line else source
        raise TemplateError(f"{where}: {exc}", file=source, line=line, word=exc.word) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TemplateError(f"{source}: {exc}", file=source) from exc


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
        columns=tuple(
            placed(("plan", "columns", i), _plan_column, c) for i, c in enumerate(_need(plan_raw, "columns", "plan"))
        ),
        previous_key=plan_raw.get("previous_key", ""),
        group_id=plan_raw.get("group_id", ""),
    )
    sheets = tuple(
        placed(("sheets", i), _sheet, s, choices, plan) for i, s in enumerate(_need(raw, "sheets", "the template"))
    )
    rules = tuple(placed(("rules", i), _rule, r, i) for i, r in enumerate(raw.get("rules") or ()))
    rules += tuple(r for s in sheets for r in _locked_row_rules(s, choices))
    summary = raw.get("summary") or {}
    if not isinstance(summary, dict):
        raise SpecError("summary must be a mapping", ("summary",))
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
        distribution=placed(("summary",), _distribution, summary),
        declared_words=placed(("words",), _words, raw.get("words")),
    )
    _check(template)
    return with_roles(template, raw.get("roles"))


def _words(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("words must be a mapping, e.g. {item: proposal, recipient: respondent}")
    for word in raw:
        if word not in WORD_KEYS:  # the line of the misspelt word, and the word it meant
            raise SpecError(
                f"unknown word {str(word)!r}{suggest(str(word), WORD_KEYS)}; known: {', '.join(WORD_KEYS)}",
                (str(word),),
                str(word),
            )
    return {str(k): clean_text(v) for k, v in raw.items() if clean_text(v)}


def _plan_column(raw: dict[str, Any]) -> PlanColumn:
    try:
        return PlanColumn(**raw)
    except TypeError as exc:
        raise ValueError(f"plan column {raw.get('key')}: {exc}") from exc


def _sheet(raw: dict[str, Any], choices: dict[str, ChoiceList], plan: PlanSpec) -> Sheet:
    name = _need(raw, "name", "a sheet")
    columns = [
        placed(("columns", j), _column, c, name, choices, plan)
        for j, c in enumerate(_need(raw, "columns", f"sheet {name}"))
    ]
    if raw.get("kind", "rows") not in ("rows", "groups"):
        raise SpecError(f"sheet {name}: unknown kind {raw.get('kind')!r} (rows or groups)", ("kind",))
    return Sheet(
        name=name,
        kind=raw.get("kind", "rows"),
        title=raw.get("title", name),
        help=raw.get("help", ""),
        columns=tuple(columns),
        locked_rows=placed(("locked_rows",), _locked_rows, raw, name, columns),
    )


def _column(raw: dict[str, Any], name: str, choices: dict[str, ChoiceList], plan: PlanSpec) -> Column:
    c = dict(raw)
    c["source"] = c.pop("from", "input")
    where = f"sheet {name}, column {c.get('key')}"
    if c["source"] not in ("plan", "previous", "input"):
        raise ValueError(f"{where}: unknown from {c['source']!r} (plan, previous or input)")
    if c["source"] == "plan" and "type" not in c:
        c["type"] = next((p.type for p in plan.columns if p.key == c.get("key")), "text")  # keeps its plan type
    fields = {f.name for f in dataclasses.fields(Column)}
    for key in c:
        if key not in fields:
            raise SpecError(f"{where}: unknown option {key!r}{suggest(key, fields - {'source'})}", (key,), key)
    col = Column(**c)
    if col.type not in _TYPES:
        raise SpecError(f"{where}: unknown type {col.type!r}{suggest(col.type, _TYPES)}", ("type",), col.type)
    if col.choices and col.choices not in choices:
        raise SpecError(
            f"{where}: no choice list {col.choices!r}{suggest(col.choices, choices)}", ("choices",), col.choices
        )
    if col.carry and not col.editable:
        raise ValueError(f"{where}: only an input column can carry its value forward")
    return col


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
        raise SpecError(
            f"unknown summary kind {kind!r}{suggest(str(kind), _SUMMARY_KINDS)} (known: {', '.join(sorted(_SUMMARY_KINDS))})",
            ("kind",),
            str(kind),
        )
    if kind != "distribution":
        return None
    known = {"kind", "title", "column", "collate", "nonresponse_flag", "split_flag", "sheet"}
    unknown = sorted(set(summary) - known)
    if unknown:
        raise SpecError(
            f"summary: unknown option(s) {', '.join(unknown)}{suggest(unknown[0], known)} ({', '.join(sorted(known))})",
            (unknown[0],),
            unknown[0],
        )
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


def _rule(raw: dict[str, Any], _i: int = 0) -> Rule:
    """One rule as written: its kind's class checks its parameters by name and type."""
    raw = dict(raw)
    kind = _need(raw, "kind", "a rule")
    if kind not in KINDS:
        raise SpecError(
            f"unknown rule kind {kind!r}{suggest(str(kind), KINDS)} (known: {', '.join(sorted(KINDS))})",
            ("kind",),
            str(kind),
        )
    severity = raw.pop("severity", "error")
    if severity not in ("error", "warning"):
        raise SpecError(
            f"rule {kind}: severity must be error or warning, not {severity!r}", ("severity",), str(severity)
        )
    message = _need(raw, "message", f"rule {kind}")
    name = raw.pop("name", "")
    del raw["kind"], raw["message"]
    rule = Rule(kind=kind, severity=severity, message=str(message), params=raw, name=str(name or ""))
    rule.__dict__["check"] = KINDS[kind].from_params(raw, ())  # the cached property, filled now: refused now
    return rule


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
    _check_rules(t)
    _check_summary(t, rows)


def _check_rules(t: Template) -> None:
    """Each rule's columns exist and hold the values it names; its message's {names} are
    columns or its kind's own words (a misspelt one would be shown as typed)."""
    rows_at = next(i for i, s in enumerate(t.sheets) if s.kind == "rows")
    known_words = {c.key for c in t.rows_sheet.columns} | {c.key for c in t.plan.columns}
    for i, rule in enumerate(t.rules):
        at: tuple[str | int, ...] = ("sheets", rows_at, "locked_rows") if rule.params.get("derived") else ("rules", i)
        rule.check.check_columns(t.rule_columns, at)
        for word in _fields_of(rule.message):
            if word not in known_words and word not in rule.check.words:
                allowed = sorted(known_words | set(rule.check.words))
                raise SpecError(
                    f"rule {rule.kind}: the message names {{{word}}}, which is not a column{suggest(word, allowed)}; "
                    "write {{ and }} for a brace that is not a name",
                    (*at, "message"),
                    word,
                )


def _fields_of(message: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(message) if name]
    except ValueError as exc:  # a lone { or }
        raise SpecError(f"a rule's message {message!r}: {exc}; write {{{{ and }}}} for a brace", (), message) from exc


def _check_summary(t: Template, rows: Sheet) -> None:
    placed(("summary", "outcomes"), _outcomes, t)
    status = t.summary.get("status")
    if status is not None and rows.column(str(status)) is None:
        known = [c.key for c in rows.columns]
        raise SpecError(
            f"summary.status {status!r} is not a column of sheet {rows.name}{suggest(str(status), known)}",
            ("summary", "status"),
            str(status),
        )
    title = t.summary.get("title")
    if title is not None and title not in {c.key for c in t.plan.columns}:
        known = [c.key for c in t.plan.columns]
        raise SpecError(
            f"summary.title {title!r} is not a plan column{suggest(str(title), known)}",
            ("summary", "title"),
            str(title),
        )
    if t.distribution is None:
        _check_statuses(t)
        return
    d = t.distribution
    col = rows.column(d.column)
    if col is None or not col.editable or col.type != "choice" or not col.choices:
        raise SpecError(
            f"summary.column {d.column!r} must be an editable choice column of sheet {rows.name}",
            ("summary", "column"),
            d.column,
        )
    for i, key in enumerate(d.collate):
        other = rows.column(key)
        if other is None or not other.editable:
            raise SpecError(
                f"summary.collate: {key!r} is not an editable column of sheet {rows.name}",
                ("summary", "collate", i),
                key,
            )


def _check_statuses(t: Template) -> None:
    """A status summary's options are known, and the statuses it names are the status column's."""
    unknown = sorted(set(t.summary) - _STATUS_SUMMARY)
    if unknown:
        raise SpecError(
            f"summary: unknown option {unknown[0]!r}{suggest(unknown[0], _STATUS_SUMMARY)} "
            f"(a status summary takes {', '.join(sorted(_STATUS_SUMMARY))})",
            ("summary", unknown[0]),
            unknown[0],
        )
    named: list[tuple[str, int | None, Any]] = [
        ("attention", i, v) for i, v in enumerate(_listed(t.summary.get("attention")))
    ]
    named += [("complete", None, v) for v in _listed(t.summary.get("complete"))[:1]]
    if named and t.status_choices is None:
        raise SpecError(
            f"summary.{named[0][0]} needs summary.status: an editable choice column holding each item's status",
            ("summary", named[0][0]),
            named[0][0],
        )
    allowed = t.status_choices.names if t.status_choices else ()
    for option, i, value in named:
        if str(value) not in allowed:
            raise SpecError(
                f"summary.{option}: {str(value)!r} is not a status: the {t.status_column} column's choices are "
                f"{', '.join(allowed)}{suggest(str(value), allowed)}",
                ("summary", option) if i is None else ("summary", option, i),
                str(value),
            )
