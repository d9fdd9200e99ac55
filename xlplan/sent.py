"""A return against what its recipient was sent, mapped onto the plan as it is now.

The officer may edit plan.xlsx between generate and collect (add, remove or move an action,
rename a ref and say so in the optional "Previous ref" column, replace a sponsor, correct
a locked value or a Big Action's title). `generate` keeps, per workbook, the plan as
issued (`ledger.IssuedPlan`); `Sent` sets it beside the plan now, and the checks here
(identity, rows by ref, tampering, whose return it is) judge the return against what was
sent, each edit since a note for the officer and never the sponsor's error. A ledger from
before plan versions were kept has none: the plan now is used, as before.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from xlplan.codes import Code
from xlplan.issues import Report
from xlplan.ledger import IssuedPlan
from xlplan.manifest import fingerprint
from xlplan.plan import Plan, group_keys_of, shown
from xlplan.read import Return
from xlplan.values import (
    clean_text,
    column_letter,
    parse_date,
)


@dataclass
class Sent:
    """One issued workbook beside the plan now."""

    issued: IssuedPlan
    plan: Plan

    def __post_init__(self) -> None:
        # The issued values typed as the plan's are: dates from their ISO text (the rest are
        # as the ledger keeps them; copied whole, as a return's 250 rows are read per file).
        dates = [c.key for c in self.plan.template.plan.columns if c.type == "date"]
        self.items: dict[str, dict[str, Any]] = {}
        for ref, item in self.issued.items.items():
            typed = dict(item)
            for k in dates:
                if type(typed.get(k)) is str:
                    typed[k] = _issued_value(typed[k], "date")
            self.items[ref] = typed

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


def filing_recipient(ret: Return, report: Report, plan: Plan, sent: Sent | None) -> str:
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


def identity_ok(ret: Return, report: Report, plan: Plan, cycle: str, sent: Sent | None) -> bool:
    """Whether the return is this plan's, template's and cycle's, for a recipient sent one (else an error)."""
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
            f"Ask the {template.plan.recipient_label} for the {cycle} workbook.",
            code=Code.WRONG_CYCLE,
            **where,
        )
        return False
    if plan.recipient(ret.recipient) is None and sent is None:  # replaced since it was sent: `filing_recipient`
        report.error(
            f"'{ret.recipient}' is not on the plan's {template.plan.recipients_sheet} sheet.",
            code=Code.UNKNOWN_RECIPIENT,
            **where,
        )
        return False
    return True


def match_rows(
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


def tamper(
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


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"
