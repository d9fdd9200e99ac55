"""A `Return` -> its typed values and a `Report` of issues. Never raises for bad data.

Order of checks: is it a return of this plan and cycle, for a known recipient; do
its rows match the recipient's refs; were locked cells changed (against the
fingerprints); then each editable value is read by its type and the whole table
goes through the template's Pandera schemas, lazily, so every problem is found
in one pass.
"""

from __future__ import annotations

import contextlib
import functools
import string
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandera.pandas as pa

from xlplan.codes import BAD_VALUE, RULE, Code
from xlplan.issues import Issue, Report
from xlplan.manifest import fingerprint
from xlplan.plan import Plan
from xlplan.read import Return
from xlplan.schema import build_schemas, check_code, columns_needed, frame
from xlplan.template import Column, Template
from xlplan.values import (
    clean_text,
    column_letter,
    excel_length,
    format_value,
    is_blank,
    parse_date,
    parse_number,
)

_SCHEMAS: dict[tuple[str, int, str], Any] = {}


@dataclass
class Validated:
    """What a return says, typed, ready to merge if the report has no errors."""

    recipient: str
    cycle: str
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # ref -> field -> typed value
    groups: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> field -> text


def schemas_for(template: Template) -> Any:
    key = (template.name, template.version, template.source)
    if key not in _SCHEMAS:
        _SCHEMAS[key] = build_schemas(template)
    return _SCHEMAS[key]


def warm(plan: Plan) -> None:
    """Build now what each worker process would otherwise build for itself, once per
    worker: the schemas (and Pandera's backends, loaded on first use) and the plan's
    index of items by recipient. Workers forked after this inherit them."""
    for schema, _rules in schemas_for(plan.template).values():
        with contextlib.suppress(pa.errors.SchemaErrors, pa.errors.SchemaError):
            schema.validate(frame([], plan.template, date.today()), lazy=True)
    plan.items_for("")


@dataclass
class Prepared:
    """A return matched to the plan and typed, waiting for the (batched) schema pass."""

    ret: Return
    report: Report
    typed: dict[str, tuple[int, dict[str, Any]]]  # ref -> (excel row, typed values)
    result: Validated


def prepare(ret: Return, report: Report, plan: Plan, cycle: str) -> Prepared | None:
    """Every per-file check: identity, rows by ref, tampering, types. The schemas come after."""
    template = plan.template
    if not _identity_ok(ret, report, plan, cycle):
        return None
    sheet = template.rows_sheet.name
    rows = _match_rows(ret, report, plan, sheet)
    _tamper(ret, report, plan, rows, sheet)
    typed = _typed_rows(ret, report, plan, rows, sheet)
    result = Validated(ret.recipient, ret.cycle)
    editable = [c.key for c in template.rows_sheet.editable_columns]
    for ref, row in typed.items():
        result.values[ref] = {k: row[1].get(k) for k in editable}
    expected_groups = plan.groups_for(ret.recipient)
    for group, fields in ret.groups.items():
        if group in expected_groups:
            result.groups[group] = {k: clean_text(v) for k, (v, _) in fields.items() if not is_blank(v)}
            _check_group_lengths(ret, report, template, group, fields)
    return Prepared(ret, report, typed, result)


def _check_group_lengths(ret: Return, report: Report, template: Template, group: str, fields: dict[str, Any]) -> None:
    """Feedback areas have a length limit too; a longer text would be cut in the master."""
    sheet = template.groups_sheet
    if sheet is None:
        return
    for key, (value, cell) in fields.items():
        col = sheet.column(key)
        size = excel_length(clean_text(value))  # as Excel counts: the limit is its length validation's
        if col is not None and col.max_length and size > col.max_length:
            report.error(
                f"{group}: {col.header} is {size:,} characters; the limit is {col.max_length:,}. Please shorten it.",
                sheet=sheet.name, cell=cell, field=key, value=clean_text(value)[:200],
                recipient=ret.recipient, code=Code.TOO_LONG,
            )  # fmt: skip


def check_all(batch: list[Prepared], template: Template, as_of: date) -> None:
    """Run the template's Pandera schemas once over the rows of every return in the batch.

    One lazy pass over one frame costs far less than one pass per file (hundreds of
    returns at national scale); each failure is mapped back to its file, row and cell.
    """
    owners: list[tuple[Prepared, str]] = [(p, ref) for p in batch for ref in p.typed]
    if not owners:
        return
    df = frame([p.typed[ref][1] for p, ref in owners], template, as_of)
    sheet = template.rows_sheet.name
    for severity, (schema, rules) in schemas_for(template).items():
        try:
            schema.validate(df[columns_needed(schema, rules, template)], lazy=True)
        except (pa.errors.SchemaErrors, pa.errors.SchemaError) as exc:
            cases = getattr(exc, "failure_cases", None)
            if cases is None:
                continue
            # A dataframe check fails once per column of a failing row: report it once.
            cases = cases.dropna(subset=["index"]).drop_duplicates(["index", "check"])
            for case in cases.itertuples(index=False):
                index, check = case.index, str(case.check)
                p, ref = owners[int(index)]
                excel_row, row = p.typed[ref]
                _schema_issue(
                    p.ret, p.report, template, severity, check, case.column, rules, ref, excel_row, row, sheet
                )
    for p in batch:
        p.report.issues.sort(key=_issue_order)


def _issue_order(issue: Issue) -> tuple[int, int, str]:
    """Errors first, then warnings, then notes; within each, in sheet order (row, column)."""
    rank = {"error": 0, "warning": 1, "note": 2}[issue.severity]
    digits = "".join(ch for ch in issue.cell if ch.isdigit())
    return rank, int(digits) if digits else 0, issue.cell


def _identity_ok(ret: Return, report: Report, plan: Plan, cycle: str) -> bool:
    ident = ret.identity
    where = {"recipient": ret.recipient}
    if ident.get("plan_id") != plan.plan_id:
        report.error(
            f"This return belongs to another plan ('{ident.get('plan_id')}'), not '{plan.plan_id}'.",
            code=Code.WRONG_PLAN,
            **where,
        )
        return False
    template = plan.template
    if ident.get("template") != template.name:
        report.error(
            f"This is a '{ident.get('template')}' return; this plan collects '{template.name}' returns.",
            code=Code.WRONG_TEMPLATE,
            **where,
        )
        return False
    if ident.get("template_version") != str(template.version):
        report.note(
            f"Made with template version {ident.get('template_version')}; the current version is {template.version}. "
            "Its columns were matched by header.",
            code=Code.TEMPLATE_VERSION,
            **where,
        )
    if ident.get("cycle") != cycle:
        report.error(
            f"This is the return for cycle {ident.get('cycle')}, but this collection is for {cycle}. "
            f"Ask the sponsor for the {cycle} workbook.",
            code=Code.WRONG_CYCLE,
            **where,
        )
        return False
    if plan.recipient(ret.recipient) is None:
        report.error(
            f"'{ret.recipient}' is not on the plan's {template.plan.recipients_sheet} sheet.",
            code=Code.UNKNOWN_RECIPIENT,
            **where,
        )
        return False
    return True


def _match_rows(ret: Return, report: Report, plan: Plan, sheet: str) -> dict[str, Any]:
    """Rows by ref, never by position: sorted or filtered rows read the same."""
    key = plan.template.plan.key
    mine = [item[key] for item in plan.items_for(ret.recipient)]
    mine_set = set(mine)
    owners = plan.by_ref
    key_col = column_letter(ret.columns[key])
    by_ref: dict[str, Any] = {}
    label = plan.template.plan.recipient_label
    for row in ret.rows:
        ref = row.values[key]
        where = {
            "sheet": sheet,
            "cell": f"{key_col}{row.excel_row}",
            "ref": ref,
            "value": ref,
            "recipient": ret.recipient,
        }
        if ref in by_ref:
            report.error(
                f"{ref} appears twice (rows {by_ref[ref].excel_row} and {row.excel_row}): delete the copy.",
                code=Code.DUPLICATE_REF,
                **where,
            )
        elif ref not in owners:
            report.error(
                f"{ref} is not {_a(plan.template.plan.item_label)} in the plan: was the Ref edited? Use the workbook that was sent out.",
                code=Code.UNKNOWN_REF,
                **where,
            )
        elif ref not in mine_set:
            report.error(
                f"{ref} belongs to another {label}'s workbook, not {ret.recipient}'s.",
                code=Code.FOREIGN_REF,
                **where,
            )
        else:
            by_ref[ref] = row
    for ref in mine:
        if ref not in by_ref:
            report.error(
                f"{ref} is missing (its row was deleted): every {plan.template.plan.item_label} needs an update. Use the workbook that was sent out.",
                sheet=sheet,
                ref=ref,
                recipient=ret.recipient,
                code=Code.MISSING_REF,
            )
    return by_ref


def _tamper(ret: Return, report: Report, plan: Plan, rows: dict[str, Any], sheet: str) -> None:
    """Locked values against their fingerprints; against the plan itself if the fingerprints are gone."""
    template = plan.template
    locked = template.rows_sheet.locked_columns
    items = plan.by_ref
    for ref, row in rows.items():
        prints = ret.fingerprints.get(ref)
        if not prints or len(prints) != len(locked):
            # The hidden sheet was deleted or edited: the plan columns can still be checked.
            prints = [fingerprint(items[ref].get(c.key)) if c.source == "plan" else "" for c in locked]
        item = items[ref]
        for col, expected in zip(locked, prints, strict=True):
            if col.key not in ret.columns or not expected:
                continue
            value = row.values.get(col.key)
            if col.source == "plan" and value == item.get(col.key) and value is not None:
                continue  # what the plan says now: nothing to hash (most cells, most returns)
            if col.type == "date" and isinstance(value, str):
                with contextlib.suppress(ValueError):  # a date typed back as text is the same date
                    value = parse_date(value) or value
            if fingerprint(value) != expected:
                report.error(
                    f"The locked '{col.header}' of {ref} was changed to '{clean_text(value)[:80]}'. "
                    "Locked columns are the plan: put the original back, and use Comments to propose a change.",
                    sheet=sheet,
                    cell=f"{column_letter(ret.columns[col.key])}{row.excel_row}",
                    ref=ref,
                    field=col.key,
                    value=clean_text(value)[:200],
                    recipient=ret.recipient,
                    code=Code.LOCKED_CHANGED,
                )


def _typed_rows(
    ret: Return, report: Report, plan: Plan, rows: dict[str, Any], sheet: str
) -> dict[str, tuple[int, dict[str, Any]]]:
    """ref -> (excel row, {key: typed value}) for every column; unreadable values reported.

    Plan columns take the plan's own typed values: the tamper check has already compared
    them with what came back, so re-reading 50,000 locked cells by type would be waste.
    """
    template = plan.template
    letters = {key: column_letter(i) for key, i in ret.columns.items()}
    by_ref = plan.by_ref
    columns = template.rows_sheet.columns
    # Values typed exactly as listed need no normalising: the fast path below.
    exact = {c.key: frozenset(template.choices[c.choices].names) for c in columns if c.type == "choice" and c.choices}
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    for ref, row in rows.items():
        item = by_ref[ref]
        typed: dict[str, Any] = {}
        for col in columns:
            if col.source == "plan":
                typed[col.key] = item.get(col.key)
                continue
            raw = row.values.get(col.key)
            if raw is None or raw == "":
                typed[col.key] = None
                continue
            if type(raw) is str and (col.type == "text" or raw in exact.get(col.key, ())):
                typed[col.key] = raw.strip() or None  # as _typed would say, without its checks
                continue
            cell = f"{letters[col.key]}{row.excel_row}" if col.key in letters else ""
            typed[col.key] = _typed(col, raw, template, report, sheet, cell, ref, ret.recipient)
        out[ref] = (row.excel_row, typed)
    return out


def _typed(
    col: Column,
    raw: Any,
    template: Template,
    report: Report,
    sheet: str,
    cell: str,
    ref: str,
    who: str,
) -> Any:
    def where() -> dict[str, Any]:  # built only when there is something to say
        return {
            "sheet": sheet,
            "cell": cell,
            "ref": ref,
            "field": col.key,
            "value": clean_text(raw)[:200],
            "recipient": who,
        }

    try:
        if col.type == "date":
            return parse_date(raw)
        if col.type == "number":
            return parse_number(raw)
    except ValueError:
        if col.editable:
            example = (
                "a date such as 31/03/2025" if col.type == "date" else "a number only, such as 85 (no units or words)"
            )
            report.error(
                f"'{clean_text(raw)[:80]}' in {col.header} cannot be read: enter {example}.",
                code=BAD_VALUE[col.type],
                **where(),
            )
        return None
    text = clean_text(raw)
    if col.type == "choice" and col.choices and text:
        choices = template.choices[col.choices]
        if text not in choices.names:
            fixed = choices.normalise(text)
            if fixed is not None:
                if col.editable:
                    report.note(f"'{raw}' was read as {fixed}.", code=Code.NORMALISED, **where())
                return fixed
    return text or None


def _schema_issue(
    ret: Return,
    report: Report,
    template: Template,
    severity: str,
    check: str,
    column: Any,
    rules: dict[str, Any],
    ref: str,
    excel_row: int,
    row: dict[str, Any],
    sheet: str,
) -> None:
    rule = rules.get(check)
    key = rule.column if rule else str(column)
    col = template.rows_sheet.column(key)
    cell = f"{column_letter(ret.columns[key])}{excel_row}" if key in ret.columns else ""
    if col is not None and key not in ret.columns:
        return  # the whole column is missing: read.py reports it once, not once per row
    value = row.get(key)
    where = {
        "sheet": sheet,
        "cell": cell,
        "ref": ref,
        "field": key,
        "value": format_value(value)[:200],
        "recipient": ret.recipient,
    }
    if rule is not None:
        words = {k: format_value(row[k]) for k in _fields_of(rule.rule.message) if k in row}
        words["expected"] = rule.expected(row)
        message = f"{ref}: " + rule.rule.message.format_map(_Default(words))
        report.add(rule.rule.severity, message, code=RULE[rule.rule.kind], **where)
        return
    header = col.header if col else key
    code = check_code(check)
    if code is Code.BAD_CHOICE and col and col.choices:
        choices = template.choices[col.choices]
        hint = choices.suggest(str(value))
        did_you = f" Did you mean {hint}?" if hint else ""
        report.error(
            f"{ref}: '{value}' is not a {choices.title}.{did_you} Choose one of {', '.join(choices.names)} from the dropdown.",
            code=Code.BAD_CHOICE,
            **where,
        )
    elif code is Code.REQUIRED:
        allowed = f": choose one of {', '.join(template.choices[col.choices].names)}" if col and col.choices else ""
        report.error(f"{ref}: {header} is empty{allowed}.", code=Code.REQUIRED, **where)
    elif code is Code.TOO_LONG and col is not None:
        report.error(
            f"{ref}: {header} is {excel_length(str(value)):,} characters; the limit is {col.max_length or 32767:,}. Please shorten it.",
            code=Code.TOO_LONG,
            **where,
        )  # type: ignore[union-attr]
    else:
        report.error(f"{ref}: {header} failed the check '{check}'.", code=Code.FAILED_CHECK, **where)


@functools.lru_cache(maxsize=256)
def _fields_of(message: str) -> tuple[str, ...]:
    """The {names} a rule's message uses: only those are formatted, once per issue."""
    return tuple(name for _, name, _, _ in string.Formatter().parse(message) if name)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


class _Default(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
