"""The plan's change log: what the officer changed in plan.xlsx, and when xlplan saw it.

Each generate and collect compares the plan with the version the ledger last recorded
(``note_plan``). When it differs, the new version is kept with one ``PlanChange`` per
difference: actions added, removed, moved to another sponsor or with a field changed (old
and new values); sponsors added, removed, replaced (a sponsor gone whose actions all went
to one new sponsor) or with new details; settings changed; SPG decisions recorded or
withdrawn. The master's "Plan changes" sheet and `xlplan export audit` show them.

The plan is compared as the officer wrote it: an action's due date as plan.xlsx gives it,
not as an approved decision replaced it (the decision itself is logged). A plan saved
again without a change (say by another spreadsheet program) is no new version. The first
version recorded is the baseline: its only changes are the decisions it already holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from xlplan.decisions import DECISIONS_SHEET
from xlplan.ledger import Ledger, PlanChange, plain
from xlplan.plan import Plan, split_recipients
from xlplan.plan_sheets import SETTINGS, SETTINGS_SHEET

SNAPSHOT_FORMAT = 1


def snapshot(plan: Plan) -> dict[str, Any]:
    """What the plan says, as plain values (its own due dates, before any decision)."""
    due_key = plan.template.due_key
    items = []
    for ref, values in plan.plain_items.items():
        if due_key and ref in plan.planned_due:
            values = {**values, due_key: plain(plan.planned_due[ref])}
        items.append([ref, values])
    return {
        "format": SNAPSHOT_FORMAT,
        "settings": {key: plan.settings.get(key, "") for key, _label, _help in SETTINGS},
        "sponsors": [[r.name, r.email, r.role] for r in plan.recipients],
        "items": items,
        "decisions": [d.as_dict() for d in plan.decisions],
    }


def digest_of(shot: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(shot, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class PlanVersion:
    """A version of the plan not yet recorded, and how it differs from the last one recorded."""

    sha256: str
    digest: str
    snapshot: dict[str, Any]
    changes: list[PlanChange]


def note_plan(plan: Plan, ledger: Ledger, command: str, cycle: str) -> list[PlanChange]:
    """Record the plan if it changed since the version last recorded; return the changes
    (the first time, only its decisions: that version is the baseline)."""
    return record_version(ledger, compare(plan, ledger), command, cycle)


def compare(plan: Plan, ledger: Ledger) -> PlanVersion | None:
    """The plan as a new version to record, or None when the ledger has it already. Only
    reads the ledger: generate works this out while its workers write the workbooks."""
    last = ledger.latest_plan_digest()
    if last is not None and plan.sha256 and last[0] == plan.sha256:
        return None  # the very file last recorded
    shot = snapshot(plan)
    digest = digest_of(shot)
    if last is not None and last[1] == digest:
        return None
    previous = ledger.latest_plan_version()
    # The first version is the baseline: only its decisions are news (each is logged once).
    changes = _decisions([], shot["decisions"], plan) if previous is None else diff(previous[1], shot, plan)
    return PlanVersion(plan.sha256, digest, shot, changes)


def record_version(ledger: Ledger, version: PlanVersion | None, command: str, cycle: str) -> list[PlanChange]:
    """Keep `version` (from `compare`) in the ledger; its changes, or [] when there was none."""
    if version is None:
        return []
    ledger.record_plan_version(command, cycle, version.sha256, version.digest, version.snapshot, version.changes)
    return version.changes


def diff(old: Mapping[str, Any], new: Mapping[str, Any], plan: Plan) -> list[PlanChange]:
    """Every difference between two snapshots, settings first, then sponsors, actions, decisions."""
    changes: list[PlanChange] = []
    changes += _settings(old.get("settings") or {}, new.get("settings") or {})
    replaced = _sponsors(old, new, plan, changes)
    changes += _items(old, new, plan, replaced)
    changes += _decisions(old.get("decisions") or [], new.get("decisions") or [], plan)
    return changes


def _settings(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[PlanChange]:
    labels = {key: label for key, label, _help in SETTINGS}
    return [
        PlanChange(
            "setting changed", SETTINGS_SHEET, labels.get(key, key), key, old.get(key) or None, new.get(key) or None
        )
        for key in dict.fromkeys([*old, *new])
        if (old.get(key) or "") != (new.get(key) or "")
    ]


def _assigned(items: list[list[Any]], assign_by: str) -> dict[str, list[str]]:
    return {ref: split_recipients(values.get(assign_by)) for ref, values in items}


def _sponsors(old: Mapping[str, Any], new: Mapping[str, Any], plan: Plan, changes: list[PlanChange]) -> dict[str, str]:
    """Sponsors added, removed, replaced or changed (into `changes`); return {old name: new name}
    of the sponsors replaced."""
    spec = plan.template.plan
    sheet = spec.recipients_sheet
    before = {row[0]: row for row in old.get("sponsors") or []}
    after = {row[0]: row for row in new.get("sponsors") or []}
    gone = [n for n in before if n not in after]
    came = [n for n in after if n not in before]
    replaced: dict[str, str] = {}
    if gone and spec.assign_by != "all":
        was = _assigned(old.get("items") or [], spec.assign_by)
        now = _assigned(new.get("items") or [], spec.assign_by)
        for name in gone:
            theirs = [ref for ref, names in was.items() if name in names and ref in now]
            heirs = [
                n
                for n in came
                if n not in replaced.values()
                and all(n in now[ref] and n not in was[ref] and name not in now[ref] for ref in theirs)
            ]
            if theirs and len(heirs) == 1:
                replaced[name] = heirs[0]
    for name in gone:
        if name in replaced:
            changes.append(PlanChange("sponsor replaced", sheet, name, "replaced", name, replaced[name]))
        else:
            changes.append(PlanChange("sponsor removed", sheet, name, "removed", name, None))
    for name in came:
        if name not in replaced.values():
            changes.append(PlanChange("sponsor added", sheet, name, "added", None, name))
    for name in before:
        if name in after:
            for i, what in ((1, "email"), (2, "role")):
                if before[name][i] != after[name][i]:
                    changes.append(
                        PlanChange(
                            "sponsor changed", sheet, name, what, before[name][i] or None, after[name][i] or None
                        )
                    )
    return replaced


def _items(old: Mapping[str, Any], new: Mapping[str, Any], plan: Plan, replaced: dict[str, str]) -> list[PlanChange]:
    spec = plan.template.plan
    sheet = spec.items_sheet
    label = str(plan.template.summary.get("title") or spec.key)
    before = {ref: values for ref, values in old.get("items") or []}
    after = {ref: values for ref, values in new.get("items") or []}
    out: list[PlanChange] = []
    for ref, values in after.items():
        if ref not in before:
            out.append(PlanChange("action added", sheet, ref, "added", None, values.get(label)))
            continue
        was = before[ref]
        if was == values:  # nearly every action, every time
            continue
        for key in dict.fromkeys([*was, *values]):
            a, b = was.get(key), values.get(key)
            if a == b:
                continue
            if key == spec.assign_by:
                if [replaced.get(n, n) for n in split_recipients(a)] == split_recipients(b):
                    continue  # the sponsor replaced: logged once, on the Sponsors sheet
                out.append(PlanChange("action moved", sheet, ref, key, a, b))
            else:
                out.append(PlanChange("action changed", sheet, ref, key, a, b))
    for ref, values in before.items():
        if ref not in after:
            out.append(PlanChange("action removed", sheet, ref, "removed", values.get(label), None))
    return out


def _decisions(old: list[dict[str, Any]], new: list[dict[str, Any]], plan: Plan) -> list[PlanChange]:
    def key(d: Mapping[str, Any]) -> bytes:
        return orjson.dumps(d, option=orjson.OPT_SORT_KEYS)

    left = [key(d) for d in old]
    out: list[PlanChange] = []
    for d in new:
        k = key(d)
        if k in left:
            left.remove(k)
        else:
            out.append(PlanChange("decision recorded", DECISIONS_SHEET, d["ref"], "decision", None, d))
    for k in left:
        d = orjson.loads(k)
        out.append(PlanChange("decision withdrawn", DECISIONS_SHEET, d["ref"], "decision", d, None))
    return out
