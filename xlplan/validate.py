"""A `Return` -> its typed values and a `Report` of issues. Never raises for bad data.

Order of checks: is it a return of this plan and cycle, for a known recipient; do
its rows match the recipient's refs; were locked cells changed (against the
fingerprints); then each editable value is read by its type and the whole table
goes through the template's Pandera schemas, lazily, so every problem is found
in one pass.

A return is checked against what was sent, not against the plan as it is now: the
officer may edit plan.xlsx between generate and collect (add, remove or move an action,
rename a ref and say so in the optional "Previous ref" column, replace a sponsor, correct
a locked value or a Big Action's title). `generate` keeps, per workbook, the plan as
issued (`ledger.IssuedPlan`); `Sent` sets it beside the plan now, and the return is
mapped onto the plan now, each edit a note for the officer and never the sponsor's error.
A ledger from before plan versions were kept has none: the plan now is used, as before.
"""

from __future__ import annotations

import contextlib
import functools
import string
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandera.pandas as pa

from xlplan.codes import BAD_VALUE, RULE, Code
from xlplan.issues import Issue, Report
from xlplan.ledger import IssuedPlan
from xlplan.manifest import fingerprint
from xlplan.plan import Plan, group_keys_of, shown
from xlplan.read import Return
from xlplan.schema import build_schemas, check_code, columns_needed, frame
from xlplan.template import Column, Template
from xlplan.values import (
    TIMESCALE_EXAMPLES,
    ambiguous_thousands,
    clean_text,
    column_letter,
    excel_length,
    format_value,
    has_invisible,
    is_blank,
    not_applicable,
    parse_date,
    parse_number,
    parse_timescale,
    strip_invisible,
)

# A date typed in a return before this is a number typed in a date column ("6" for six
# months is 06/01/1900) or a slip of the keyboard: refused, never merged as a date.
EARLIEST_DATE = date(2000, 1, 1)

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
class Sent:
    """One issued workbook beside the plan now."""

    issued: IssuedPlan
    plan: Plan

    def __post_init__(self) -> None:
        types = {c.key: c.type for c in self.plan.template.plan.columns}
        # The issued values typed as the plan's are (dates from their ISO text).
        self.items: dict[str, dict[str, Any]] = {
            ref: {k: _issued_value(v, types.get(k, "text")) for k, v in item.items()}
            for ref, item in self.issued.items.items()
        }

    def now(self, ref: str) -> str | None:
        """The ref an issued item has in the plan now: itself, its new ref when renamed
        (the plan's "Previous ref" says so), or None when it was removed."""
        if ref in self.plan.by_ref:
            return ref
        return self.plan.renamed.get(ref)

    def recipients_now(self, ref: str) -> list[str]:
        """Who the issued item belongs to now ([] when it was removed)."""
        target = self.now(ref)
        return self.plan.recipients_of(self.plan.by_ref[target]) if target else []

    def successor(self) -> str | None:
        """For a recipient no longer in the plan: the one current recipient holding the most
        of their issued items (ties: the first in plan order), or None if none is held."""
        held: Counter[str] = Counter()
        for ref in self.items:
            held.update(self.recipients_now(ref))
        if not held:
            return None
        most = max(held.values())
        order = [r.name for r in self.plan.recipients]
        return min((who for who, n in held.items() if n == most), key=lambda w: order.index(w) if w in order else 0)

    def place_group(self, title: str) -> str | None:
        """The group (Big Action) title a feedback area sent under `title` belongs to now.

        Its title unchanged; else its id or number (`plan.group_keys_of`); else the one group
        its issued items belong to now. None when it cannot be placed.
        """
        plan = self.plan
        spec = plan.template.plan
        if title in plan.group_titles:
            return title
        ids = {item.get(spec.group_id) for item in self.items.values() if item.get(spec.group_by) == title}
        for group_id in sorted(str(i) for i in ids if i) if spec.group_id else ():
            for key in group_keys_of("", group_id):
                if key in plan.group_keys:
                    return plan.group_keys[key]
        by_number = plan.group_now(title)
        if by_number is not None:
            return by_number
        now = {
            plan.by_ref[target].get(spec.group_by)
            for ref, item in self.items.items()
            if item.get(spec.group_by) == title and (target := self.now(ref))
        }
        now.discard(None)
        return str(now.pop()) if len(now) == 1 else None


def _issued_value(value: Any, kind: str) -> Any:
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


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
    if not _identity_ok(ret, report, plan, cycle, sent):
        return None
    sheet = template.rows_sheet.name
    filed_as = _filed_as(ret, report, plan, sent)
    rows, items, now = _match_rows(ret, report, plan, sheet, sent, filed_as)
    _tamper(ret, report, plan, rows, items, now, sheet)
    typed = _typed_rows(ret, report, plan, rows, items, sheet)
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


def _filed_as(ret: Return, report: Report, plan: Plan, sent: Sent | None) -> str:
    """Whose return it is in the ledger: its recipient, or for a recipient no longer in the
    plan (replaced since the workbook was sent), the current recipient of its items."""
    if plan.recipient(ret.recipient) is not None or sent is None:
        return ret.recipient
    spec = plan.template.plan
    successor = sent.successor()
    sent_on = sent.issued.generated_at[:10]
    if successor is None:
        report.note(
            f"'{ret.recipient}' is no longer on the plan's {spec.recipients_sheet} sheet and none of the "
            f"{spec.item_label}s in the workbook sent to them on {sent_on} is in the plan now: their updates "
            "are kept in the ledger as history.",
            code=Code.RECIPIENT_REPLACED,
            recipient=ret.recipient,
        )
        return ret.recipient
    report.note(
        f"'{ret.recipient}' is no longer on the plan's {spec.recipients_sheet} sheet: this return answers the "
        f"workbook sent to them on {sent_on} and is filed for {successor}, the {spec.recipient_label} of its "
        f"{spec.item_label}s now.",
        code=Code.RECIPIENT_REPLACED,
        recipient=successor,
    )
    return successor


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


def _issue_order(issue: Issue) -> tuple[int, int, str]:
    """Errors first, then warnings, then notes; within each, in sheet order (row, column)."""
    rank = {"error": 0, "warning": 1, "note": 2}[issue.severity]
    digits = "".join(ch for ch in issue.cell if ch.isdigit())
    return rank, int(digits) if digits else 0, issue.cell


def _identity_ok(ret: Return, report: Report, plan: Plan, cycle: str, sent: Sent | None) -> bool:
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
    if plan.recipient(ret.recipient) is None and sent is None:  # replaced since it was sent: `_filed_as`
        report.error(
            f"'{ret.recipient}' is not on the plan's {template.plan.recipients_sheet} sheet.",
            code=Code.UNKNOWN_RECIPIENT,
            **where,
        )
        return False
    return True


def _match_rows(
    ret: Return, report: Report, plan: Plan, sheet: str, sent: Sent | None, filed_as: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, str]]:
    """Rows by ref, never by position: sorted or filtered rows read the same.

    Returns the rows by returned ref, the plan item each is checked against (as issued to
    the recipient, else the plan's now) and the ref each is filed under now (when renamed). With the issued plan, a row is judged against what was sent: an action
    added, removed, renamed or moved since is a note for the officer, never an error.
    """
    key = plan.template.plan.key
    mine = [item[key] for item in plan.items_for(filed_as)]
    mine_set = set(mine)
    owners = plan.by_ref
    key_col = column_letter(ret.columns[key])
    by_ref: dict[str, Any] = {}
    items: dict[str, dict[str, Any]] = {}
    now: dict[str, str] = {}
    spec = plan.template.plan
    label = spec.recipient_label
    for row in ret.rows:
        ref = row.values[key]
        where = {
            "sheet": sheet,
            "cell": f"{key_col}{row.excel_row}",
            "ref": ref,
            "value": ref,
            "recipient": filed_as,
        }
        if ref in by_ref:
            report.error(
                f"{ref} appears twice (rows {by_ref[ref].excel_row} and {row.excel_row}): delete the copy.",
                code=Code.DUPLICATE_REF,
                **where,
            )
        elif sent is not None and ref in sent.items:
            by_ref[ref] = row
            items[ref] = sent.items[ref]  # judged as sent: the sponsor saw these values
            target = sent.now(ref)
            if target is None:
                continue  # said once all rows are read, with what was added beside it
            if target != ref:
                now[ref] = target
                report.note(
                    f"{ref} is {target} in the plan now (its {_previous_header(plan)} says so): "
                    f"this update is filed under {target}.",
                    code=Code.PLAN_RENAMED,
                    **where,
                )
            if target not in mine_set:
                who = " and ".join(plan.recipients_of(owners[target])) or f"another {label}"
                report.note(
                    f"{target} belongs to {who} in the plan now, not {filed_as}: this update, made on the "
                    f"workbook sent before it moved, is kept.",
                    code=Code.PLAN_MOVED,
                    **where,
                )
        elif ref not in owners:
            report.error(
                f"{ref} is not {_a(spec.item_label)} in the plan: was the Ref edited? Use the workbook that was sent out.",
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
            items[ref] = owners[ref]
    if sent is None:
        missing = [ref for ref in mine if ref not in by_ref]
    else:
        # A row that was sent and is still this recipient's: deleting it is the sponsor's doing.
        missing = [ref for ref in sent.items if ref not in by_ref and sent.now(ref) in mine_set]
        covered = set(by_ref) | set(now.values()) | {sent.now(ref) for ref in sent.items}
        added = [ref for ref in mine if ref not in covered]
        _changes_since(ret, report, plan, sent, by_ref, added, sheet, filed_as)
    for ref in missing:
        report.error(
            f"{ref} is missing (its row was deleted): every {spec.item_label} needs an update. Use the workbook that was sent out.",
            sheet=sheet,
            ref=ref,
            recipient=filed_as,
            code=Code.MISSING_REF,
        )
    return by_ref, items, now


def _changes_since(
    ret: Return,
    report: Report,
    plan: Plan,
    sent: Sent,
    rows: dict[str, Any],
    added: list[str],
    sheet: str,
    filed_as: str,
) -> None:
    """Notes for the officer: items added to this recipient since the workbook was sent, and
    updates on items removed since (kept in the ledger as history)."""
    spec = plan.template.plan
    item = spec.item_label
    sent_on = sent.issued.generated_at[:10]
    removed = [ref for ref in rows if sent.now(ref) is None]
    for ref in added:
        report.note(
            f"{ref} was added to the plan (or given to {filed_as}) after this workbook was made on {sent_on}: "
            "it is not in it, and will be in the next one.",
            sheet=sheet,
            ref=ref,
            recipient=filed_as,
            code=Code.PLAN_ADDED,
        )
    key_col = column_letter(ret.columns[spec.key])
    hint = ""
    if added and spec.previous_key:
        column = _previous_header(plan)
        if len(added) == 1:
            hint = (
                f" If {{ref}} was renamed {added[0]} (added since), write {{ref}} in its '{column}' column of the plan."
            )
        else:
            hint = (
                f" If {{ref}} was renamed to one of {', '.join(added)} (added since), write {{ref}} in that "
                f"{item}'s '{column}' column of the plan."
            )
    for ref in removed:
        row = rows[ref]
        report.note(
            f"{ref} is no longer {_a(item)} in the plan: its update is kept in the ledger as history "
            f"(the master tracker shows the plan's {item}s only)." + hint.replace("{ref}", ref),
            sheet=sheet,
            cell=f"{key_col}{row.excel_row}",
            ref=ref,
            value=ref,
            recipient=filed_as,
            code=Code.PLAN_REMOVED,
        )


def _previous_header(plan: Plan) -> str:
    spec = plan.template.plan
    return spec.column(spec.previous_key).header if spec.previous_key else "Previous ref"


def _tamper(
    ret: Return,
    report: Report,
    plan: Plan,
    rows: dict[str, Any],
    items: dict[str, dict[str, Any]],
    now: dict[str, str],
    sheet: str,
) -> None:
    """Locked values against their fingerprints (what was sent); against the plan as issued
    (`items`) if the fingerprints are gone. A value the officer has put in the plan since is
    never the sponsor's doing: the plan's value now is accepted too."""
    template = plan.template
    locked = template.rows_sheet.locked_columns
    for ref, row in rows.items():
        item = items[ref]
        current = plan.by_ref.get(now.get(ref, ref), item)
        prints = ret.fingerprints.get(ref)
        if not prints or len(prints) != len(locked):
            # The hidden sheet was deleted or edited: the plan columns can still be checked.
            prints = [fingerprint(shown(item, c.key)) if c.source == "plan" else "" for c in locked]
        for col, expected in zip(locked, prints, strict=True):
            if col.key not in ret.columns or not expected:
                continue
            value = row.values.get(col.key)
            if col.source == "plan" and value == item.get(col.key) and value is not None:
                continue  # what was sent: nothing to hash (most cells, most returns)
            if col.type == "date" and isinstance(value, str):
                with contextlib.suppress(ValueError):  # a date typed back as text is the same date
                    value = parse_date(value) or value
            if fingerprint(value) != expected:
                if col.source == "plan" and fingerprint(value) == fingerprint(shown(current, col.key)):
                    continue  # the plan's value now (the workbook was made before the officer's edit)
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
    ret: Return, report: Report, plan: Plan, rows: dict[str, Any], items: dict[str, dict[str, Any]], sheet: str
) -> dict[str, tuple[int, dict[str, Any]]]:
    """ref -> (excel row, {key: typed value}) for every column; unreadable values reported.

    Plan columns take the plan's own typed values, as issued (the rules judge the sponsor's
    entries against what the sponsor was shown): the tamper check has already compared
    them with what came back, so re-reading 50,000 locked cells by type would be waste.
    """
    template = plan.template
    letters = {key: column_letter(i) for key, i in ret.columns.items()}
    columns = template.rows_sheet.columns
    # Values typed exactly as listed need no normalising: the fast path below.
    exact = {c.key: frozenset(template.choices[c.choices].names) for c in columns if c.type == "choice" and c.choices}
    extra = template.rule_plan_keys  # plan columns the rules read that the sheet does not show
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    for ref, row in rows.items():
        item = items[ref]
        typed: dict[str, Any] = {}
        for col in columns:
            if col.source == "plan":
                typed[col.key] = item.get(col.key)
                continue
            raw = row.values.get(col.key)
            if raw is None or raw == "":
                typed[col.key] = None
                continue
            if type(raw) is str and (col.type == "text" or raw in exact.get(col.key, ())) and raw.isascii():
                typed[col.key] = raw.strip() or None  # as _typed would say, without its checks
                continue
            cell = f"{letters[col.key]}{row.excel_row}" if col.key in letters else ""
            percent = cell in ret.percent
            typed[col.key] = _typed(col, raw, template, report, sheet, cell, ref, ret.recipient, percent)
        for k in extra:
            typed[k] = item.get(k)
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
    percent: bool = False,
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

    if isinstance(raw, str) and not raw.isascii() and has_invisible(raw):
        stripped, inside = strip_invisible(raw)
        if inside and col.type == "number" and not has_invisible(stripped.replace("\u00a0", "")):
            inside = ""  # "1\u00a0200": a non-breaking space between thousands, as many write them
        if inside and col.type != "text":
            if col.editable:
                report.error(
                    f"{ref}: '{stripped[:80]}' in {col.header} holds an invisible character ({inside}): "
                    "delete the cell's content and type it again.",
                    code=Code.INVISIBLE_CHARACTERS,
                    **where(),
                )
            return None
        if stripped != raw.strip() and col.editable:
            report.note(
                f"Invisible characters (zero-width or non-breaking spaces) around '{stripped[:80]}' were removed.",
                code=Code.INVISIBLE_CHARACTERS,
                **where(),
            )
        raw = stripped
        if not raw:
            return None
    if col.type in ("date", "number") and not_applicable(raw):
        if col.editable:
            report.note(
                f"'{raw.strip()}' in {col.header} was read as blank (nothing to give).",
                code=Code.NOT_APPLICABLE,
                **where(),
            )
        return None
    try:
        if col.type == "date":
            return _date(col, raw, report, where)
        if col.type == "number":
            number = parse_number(raw)
            if percent and isinstance(raw, float) and number is not None:
                number = round(number * 100, 9)
                if col.editable:
                    report.note(
                        f"{col.header} shows {format_value(number)}% (a percentage format): read as "
                        f"{format_value(number)}, the number shown, not {format_value(raw)}.",
                        code=Code.PERCENT,
                        **where(),
                    )
            elif ambiguous_thousands(raw) and col.editable:
                report.note(
                    f"'{raw.strip()}' in {col.header} was read as {format_value(number)} (a decimal point); "
                    f"if you meant {raw.strip().replace('.', ',')}, type {raw.strip().replace('.', '')}.",
                    code=Code.DECIMAL_POINT,
                    **where(),
                )
            return number
    except _NotADate as exc:
        if col.editable:
            report.error(str(exc), code=Code.BAD_DATE, **where())
        return None
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


class _NotADate(ValueError):
    """A value read as a date that cannot be meant as one: the message says why."""


def _date(col: Column, raw: Any, report: Report, where: Any) -> date | None:
    """A date column's value: a date, or a timescale ("April 2020", "Q3 2024/25", said in a
    note); never a small number that would be a date in 1900."""
    timescale = parse_timescale(raw)
    if timescale is None:
        return None
    day = timescale.due
    if day is not None and day < EARLIEST_DATE:
        serial = _serial(day)
        if not isinstance(raw, date) or serial < 3_653:
            # A number: typed as one, or into a cell formatted as a date (then read as 1900's)
            typed = clean_text(raw)[:40] if not isinstance(raw, date) else str(serial)
            said = f"'{typed}' in {col.header} is not a date (as a date, {format_value(day)})"
        else:
            said = f"'{format_value(day)}' in {col.header} is too early for a due date"
        raise _NotADate(f"{said}: enter {TIMESCALE_EXAMPLES}.")
    if timescale.wording and col.editable:
        read_as = f"read as {format_value(day)}, {timescale.means}" if day else f"read as no date ({timescale.means})"
        report.note(f"'{timescale.wording}' in {col.header} was {read_as}.", code=Code.TIMESCALE, **where())
    return day


def _serial(day: date) -> int:
    """The number Excel shows as `day` (its 29/02/1900 that never was included)."""
    if day < date(1900, 3, 1):
        return (day - date(1899, 12, 31)).days
    return (day - date(1899, 12, 30)).days


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


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


class _Default(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
