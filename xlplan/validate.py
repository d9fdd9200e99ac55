"""A `Return` -> its typed values and a `Report` of issues. Never raises for bad data.

Order of checks: is it a return of this plan and cycle, for a known recipient; do
its rows match the recipient's refs; were locked cells changed (against the
fingerprints); then each editable value is read by its type and the whole table
goes through the template's Pandera schemas, lazily, so every problem is found
in one pass. This module owns that order, the feedback areas, the sponsor's cell
notes and the schema pass; it is the entry point (`prepare`, `check_all`).

A return is checked against what was sent, not against the plan as it is now: `sent`
owns those checks (identity, rows by ref, tampering, whose return it is), and
`typed_rows` reads each cell by its column's type.
"""

from __future__ import annotations

import contextlib
import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandera.pandas as pa

from xlplan.codes import RULE, Code
from xlplan.issues import Issue, Report
from xlplan.ledger import IssuedPlan
from xlplan.plan import Plan
from xlplan.read import Return
from xlplan.schema import build_schemas, check_code, columns_needed, frame
from xlplan.sent import Sent, filing_recipient, identity_ok, match_rows, tamper
from xlplan.template import Template
from xlplan.typed_rows import typed_rows
from xlplan.values import (
    clean_text,
    column_letter,
    excel_length,
    format_value,
    is_blank,
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


def prepare(ret: Return, report: Report, plan: Plan, cycle: str, issued: IssuedPlan | None = None) -> Prepared | None:
    """Every per-file check: identity, rows by ref, tampering, types. The schemas come after.

    `issued` is the plan as the workbook was issued to its recipient (None in a ledger from
    before plan versions were kept): the return is checked against what was sent, then
    mapped onto the plan now (`sent`), so an officer's edit since is never the sponsor's error.
    """
    template = plan.template
    sent = Sent(issued, plan) if issued is not None and issued.recipient == ret.recipient else None
    if not identity_ok(ret, report, plan, cycle, sent):
        return None
    sheet = template.rows_sheet.name
    filed_as = filing_recipient(ret, report, plan, sent)
    rows, items, now = match_rows(ret, report, plan, sheet, sent, filed_as)
    tamper(ret, report, plan, rows, items, now, sheet)
    typed = typed_rows(ret, report, plan, rows, items, sheet)
    _report_notes(ret, report, template, rows)
    if rows and not report.errors and _nothing_filled(ret, template, typed):
        kept = [i for i in report.issues if i.code in (Code.CELL_NOTE, Code.TEMPLATE_VERSION)]
        report.issues[:] = kept
        report.error(
            f"Nothing was filled in: the workbook came back as it was sent, with no "
            f"{', '.join(c.header for c in template.rows_sheet.editable_columns if not c.carry)} given. "
            "Was the wrong file attached? Please fill in the workbook and send it again.",
            recipient=ret.recipient,
            code=Code.NOTHING_FILLED,
        )
        return None
    result = Validated(filed_as, ret.cycle)
    editable = [c.key for c in template.rows_sheet.editable_columns]
    for ref, row in typed.items():
        result.values[now.get(ref, ref)] = {k: row[1].get(k) for k in editable}
    _groups(ret, report, plan, sent, filed_as, result)
    return Prepared(ret, report, typed, result)


def _groups(ret: Return, report: Report, plan: Plan, sent: Sent | None, filed_as: str, result: Validated) -> None:
    """The feedback areas, each filed under its group as the plan names it now.

    A group whose title was corrected since is found by its id or number (or its issued
    items); an area with text that still cannot be placed is kept under the title it came
    with, and said: nothing typed is dropped.
    """
    template = plan.template
    expected_groups = set(plan.groups_for(filed_as))
    label = _group_label(plan)
    for group, fields in ret.groups.items():
        texts = {k: clean_text(v) for k, (v, _) in fields.items() if not is_blank(v)}
        if group in expected_groups:
            placed: str | None = group
        else:
            placed = sent.place_group(group) if sent else plan.group_now(group)
            if not texts:
                continue  # an empty area: nothing to keep
            if placed is None:
                was_sent = sent is not None and group in sent.issued.groups
                why = (
                    f"no longer in the plan (no {label} with its number, and its {plan.template.plan.item_label}s "
                    "have gone or moved apart)"
                    if was_sent
                    else "not one the workbook was sent with"
                )
                report.add(
                    "note" if was_sent else "warning",
                    f"Feedback for '{group[:80]}' could not be matched to a {label} of the plan: it is {why}. "
                    "It is kept in the ledger and the master tracker under that title.",
                    sheet=template.groups_sheet.name if template.groups_sheet else "",
                    value=group[:200],
                    recipient=filed_as,
                    code=Code.GROUP_UNPLACED,
                )
                placed = group
            elif placed != group:
                report.note(
                    f"Feedback for '{group[:80]}' is filed under '{placed[:80]}', its {label}'s title in the plan now.",
                    sheet=template.groups_sheet.name if template.groups_sheet else "",
                    value=group[:200],
                    recipient=filed_as,
                    code=Code.GROUP_RENAMED,
                )
        assert placed is not None
        kept = result.groups.setdefault(placed, {})
        kept.update(texts)
        _check_group_lengths(ret, report, template, group, fields)


def _group_label(plan: Plan) -> str:
    spec = plan.template.plan
    column = next((c for c in spec.columns if c.key == spec.group_by), None)
    return column.header if column else "group"


def _nothing_filled(ret: Return, template: Template, typed: dict[str, tuple[int, dict[str, Any]]]) -> bool:
    """Whether no editable cell holds anything but what was written into it (a carried
    value), and no feedback area was filled in: the workbook came back untouched."""
    asked = [c.key for c in template.rows_sheet.editable_columns if not c.carry]
    if not asked:
        return False
    for _row, values in typed.values():
        if any(values.get(k) is not None for k in asked):
            return False
    return not any(not is_blank(v) for fields in ret.groups.values() for v, _cell in fields.values())


def _report_notes(ret: Return, report: Report, template: Template, rows: dict[str, Any]) -> None:
    """The notes and comments the sponsor left on cells: shown to the officer, kept with the return."""
    by_letter = {column_letter(i): key for key, i in ret.columns.items()}
    by_row = {row.excel_row: ref for ref, row in rows.items()}
    for sheet, notes in ret.notes.items():
        for cell, text in sorted(notes.items(), key=lambda kv: _cell_order(kv[0])):
            letters = "".join(ch for ch in cell if ch.isalpha())
            number = int("".join(ch for ch in cell if ch.isdigit()) or 0)
            ref = by_row.get(number, "") if sheet in ret.protected else ""  # the rows sheet, as it is named
            column = template.rows_sheet.column(by_letter.get(letters, "")) if ref else None
            about = f"{ref}: a note on {column.header}" if ref and column else f"{ref}: a note" if ref else "A note"
            said = text if len(text) <= 2000 else text[:2000] + "…"
            report.note(
                f"{about}: “{said}”",
                sheet=sheet, cell=cell, ref=ref, field=column.key if column else "",
                value=text[:200], recipient=ret.recipient, code=Code.CELL_NOTE,
            )  # fmt: skip


def _cell_order(cell: str) -> tuple[int, int, str]:
    digits = "".join(ch for ch in cell if ch.isdigit())
    letters = "".join(ch for ch in cell if ch.isalpha())
    return int(digits or 0), len(letters), letters


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


def check_all(batch: list[Prepared], template: Template, as_of: date, start: date | None = None) -> None:
    """Run the template's Pandera schemas once over the rows of every return in the batch.

    One lazy pass over one frame costs far less than one pass per file (hundreds of
    returns at national scale); each failure is mapped back to its file, row and cell.
    """
    owners: list[tuple[Prepared, str]] = [(p, ref) for p in batch for ref in p.typed]
    if not owners:
        return
    df = frame([p.typed[ref][1] for p, ref in owners], template, as_of, start)
    sheet = template.rows_sheet.name
    for severity, (schema, rules) in schemas_for(template).items():
        try:
            schema.validate(df[columns_needed(schema, rules, template)], lazy=True)
        except (pa.errors.SchemaErrors, pa.errors.SchemaError) as exc:
            cases = getattr(exc, "failure_cases", None)
            if cases is None:
                continue
            # A check that failed with no row (it raised inside Pandera): said on every return.
            _broken(batch, template, rules, cases[cases["index"].isna()])
            # A dataframe check fails once per column of a failing row: report it once.
            cases = cases.dropna(subset=["index"]).drop_duplicates(["index", "check"])
            words: dict[tuple[str, int], dict[str, str]] = {}
            for name, rc in rules.items():  # the words some messages need, for all their rows at once
                if not rc.has_words:
                    continue
                failed = sorted({int(i) for i in cases.loc[cases["check"] == name, "index"]})
                words.update({(name, int(i)): w for i, w in rc.words(df.iloc[failed]).items()})
            for case in cases.itertuples(index=False):
                index, check = int(case.index), str(case.check)
                p, ref = owners[index]
                excel_row, row = p.typed[ref]
                extra = words.get((check, index), {})
                _schema_issue(
                    p.ret, p.report, template, severity, check, case.column, rules, ref, excel_row, row, sheet, extra
                )
    for p in batch:
        p.report.issues.sort(key=_issue_order)


def _broken(batch: list[Prepared], template: Template, rules: Mapping[str, Any], cases: Any) -> None:
    """Checks that could not be run (an error inside Pandera, with no row to point at): each
    return is told which rule was not applied, never silently passed as if it had been."""
    sheet = template.rows_sheet.name
    for case in cases.drop_duplicates(["check"]).itertuples(index=False):
        check, why = str(case.check), str(case.failure_case)[:300]
        rc = rules.get(check)
        for p in batch:
            if rc is not None:
                said = f"The template's {rc.rule.kind} rule on {rc.column} could not be run ({why})"
                p.report.warning(
                    f"{said}: this return was not checked by it. Tell whoever keeps the template ({template.source}).",
                    sheet=sheet, field=rc.column, recipient=p.ret.recipient, code=Code.RULE_BROKEN,
                )  # fmt: skip
            else:
                p.report.error(
                    f"The check '{check}' failed on the whole sheet ({why}): a bug in xlplan, please report it.",
                    sheet=sheet, recipient=p.ret.recipient, code=Code.FAILED_CHECK,
                )  # fmt: skip


def _issue_order(issue: Issue) -> tuple[int, int, str]:
    """Errors first, then warnings, then notes; within each, in sheet order (row, column)."""
    rank = {"error": 0, "warning": 1, "note": 2}[issue.severity]
    digits = "".join(ch for ch in issue.cell if ch.isdigit())
    return rank, int(digits) if digits else 0, issue.cell


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
    extra: Mapping[str, str],
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
        words.update(extra)
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


class _Default(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
