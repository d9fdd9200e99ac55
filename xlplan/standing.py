"""Each item's standing at a cycle: the one picture of the plan over its life.

Every output that says where an action stands (the master's sheets, the gaps, `status`,
`report`, the SPG email, `export`) reads it from here, so they cannot disagree.

For each item and cycle the standing is one of:

- **reported**: at least one recipient gave it a status this cycle. Joint sponsors each
  keep their own entry; the item's status is the most severe of theirs, by the order of
  the template's status choices (first = most severe: Red, Amber, Green, Grey, Blue). So
  it is Blue (complete) only when every sponsor who reported says Blue, and neither file
  names nor the order returns were merged can change it.
- **carried**: nobody reported it this cycle (no return, a blank status, a quarantined
  return), so its last reported standing is carried forward and marked as such. A Red
  action stays Red, and on the Risk register, until someone reports it otherwise; a
  completed action stays complete.
- **never**: nobody has ever reported it.

An SPG decision recorded in the plan (``decisions``) comes after the returns of the cycle
it was taken in: **Close** gives the action the template's complete status from that
cycle on, **Reopen** clears a complete status, each until a sponsor reports on it in a
later cycle. The standing then says so (``decision``).

The model is built from the ledger's statuses (read with `json_extract`, no object
decoded) and decodes whole entries only for the cycles a standing is taken from.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from xlplan.decisions import CLOSE, Timed, status_decision, timed
from xlplan.ledger import Ledger
from xlplan.plan import Plan
from xlplan.template import Template
from xlplan.values import is_blank
from xlplan.workers import gc_paused

Source = Literal["reported", "carried", "never"]


@dataclass(frozen=True)
class Entry:
    """One recipient's word on one item in one cycle, as merged."""

    recipient: str
    values: Mapping[str, Any]
    file: str = ""


@dataclass(frozen=True)
class Standing:
    """Where one item stands at one cycle."""

    ref: str
    cycle: str
    source: Source
    status: str | None = None  # the consolidated status: most severe of the entries
    as_of: str | None = None  # the cycle the status was reported in (== cycle when reported)
    cycles_without_update: int = 0  # cycles since it was last reported (0 when reported now)
    entries: tuple[Entry, ...] = ()  # every recipient's entry behind it, by name
    values: Mapping[str, Any] = field(default_factory=dict)  # consolidated fields
    disagreement: bool = False  # joint sponsors reported different statuses
    decision: str = ""  # an SPG decision that set the status: "closed by the SPG on 14/10/2025"

    @property
    def reported(self) -> bool:
        return self.source == "reported"

    @property
    def carried(self) -> bool:
        return self.source == "carried"

    @property
    def reporters(self) -> tuple[str, ...]:
        return tuple(e.recipient for e in self.entries)

    @property
    def note(self) -> str:
        """Where the status comes from, in words for the SPG."""
        if self.decision:
            return self.decision
        if self.source == "never":
            return "never reported"
        if self.source == "carried":
            status = f" {self.status}" if self.status else ""
            cycles = "cycle" if self.cycles_without_update == 1 else "cycles"
            return f"not updated: last reported{status} in {self.as_of} ({self.cycles_without_update} {cycles} ago)"
        return f"reported by {' and '.join(self.reporters)}" if self.entries else "reported"

    def entry_statuses(self, status_key: str | None) -> str:
        """'Sharon McAlees: Red; Allen Stevenson: Green' when joint sponsors reported."""
        if not status_key or len(self.entries) < 2:
            return ""
        return "; ".join(f"{e.recipient}: {e.values.get(status_key) or 'no status'}" for e in self.entries)


@dataclass(frozen=True)
class Picture:
    """Every plan item's standing at one cycle and at the cycle before it, with the trend."""

    cycle: str
    previous_cycle: str | None
    cycles: tuple[str, ...]  # every known cycle up to and including `cycle`, in order
    now: Mapping[str, Standing]  # ref -> standing at `cycle`
    before: Mapping[str, Standing]  # ref -> standing at `previous_cycle`
    trend: Mapping[str, Mapping[str, str]]  # ref -> cycle -> status reported that cycle
    entered: frozenset[str] = frozenset()  # refs some merged return had a row for at `cycle`, status or not

    def values(self, ref: str) -> Mapping[str, Any]:
        """The item's consolidated values now (reported or carried); {} when never reported."""
        s = self.now.get(ref)
        return s.values if s else {}

    def last_status(self, ref: str) -> str | None:
        s = self.before.get(ref)
        return s.status if s else None


class _Statuses:
    """Who reported which status, per item and cycle, from the ledger's statuses alone."""

    def __init__(self, rows: list[tuple[str, str, str, Any]], order: list[str]) -> None:
        self.rank = {s: i for i, s in enumerate(order)}
        # ref -> cycle -> recipient -> status (blank statuses are not reports)
        self.by_ref: dict[str, dict[str, dict[str, str]]] = {}
        # ref -> cycle -> recipients with an entry for it, status or not (a note with no status)
        self.entered: dict[str, dict[str, list[str]]] = {}
        entered, by_ref = self.entered, self.by_ref
        for cycle, recipient, ref, status in rows:  # one per entry: 50,000 a cycle at national scale
            per = entered.get(ref)
            if per is None:
                per = entered[ref] = {}
            if cycle in per:
                per[cycle].append(recipient)
            else:
                per[cycle] = [recipient]
            if status is None or is_blank(status):
                continue
            said = by_ref.get(ref)
            if said is None:
                said = by_ref[ref] = {}
            if cycle in said:
                said[cycle][recipient] = str(status)
            else:
                said[cycle] = {recipient: str(status)}

    def worst(self, statuses: Collection[str]) -> str:
        """The most severe status: by the choice order, unknown values last, then by name."""
        if len(statuses) == 1:  # one sponsor, the common case
            return next(iter(statuses))
        return min(statuses, key=lambda s: (self.rank.get(s, len(self.rank)), s))

    def last_reported(self, ref: str, cycle: str) -> str | None:
        """The latest cycle at or before `cycle` in which someone gave `ref` a status."""
        per = self.by_ref.get(ref)
        if not per:
            return None
        if cycle in per:  # reported this cycle, the common case
            return cycle
        return max((c for c in per if c <= cycle), default=None)


def picture(plan: Plan, ledger: Ledger, cycle: str) -> Picture:
    """Every item's standing at `cycle` and at the cycle before, read from the ledger once
    (and remembered until the ledger is next written)."""
    kept = ledger.remembered(("picture", id(plan), cycle), lambda: (plan, _paused_picture(plan, ledger, cycle)))
    if kept[0] is plan:
        return kept[1]
    return _paused_picture(plan, ledger, cycle)  # another plan object under a reused id: not remembered


def _paused_picture(plan: Plan, ledger: Ledger, cycle: str) -> Picture:
    # Built without the cyclic garbage collector: its scans of the objects made here (two
    # per item) took half the time at 50,000 actions, and none of them is garbage.
    with gc_paused():
        return _picture(plan, ledger, cycle)


def standings(plan: Plan, ledger: Ledger, cycles: Collection[str]) -> dict[str, dict[str, Standing]]:
    """Every item's standing at each of `cycles` (cycle -> ref -> standing), the ledger's
    statuses read once for them all: what `export standing` writes."""
    with gc_paused():
        build, refs = _builder(plan, ledger, max(cycles, default=""), also=cycles)
        return {cycle: {ref: build.standing(ref, cycle) for ref in refs} for cycle in sorted(cycles)}


def _builder(plan: Plan, ledger: Ledger, upto: str, also: Collection[str] = ()) -> tuple[_Builder, list[str]]:
    """What standings up to cycle `upto` are built from, read from the ledger once; and the
    plan's refs in order."""
    template = plan.template
    sheet = template.rows_sheet.name
    status_key = template.status_column
    choices = template.status_choices
    order = list(choices.names) if choices else []
    # Without a status column (a rating template) the rows still say who entered what.
    rows = ledger.statuses(sheet, status_key or "")
    renamed = plan.renamed  # an action's earlier refs (the plan's Previous ref): its history is its own
    if renamed:
        rows = [(c, who, renamed.get(ref, ref), status) for c, who, ref, status in rows]
    known = _Statuses(rows, order)
    cycles = tuple(sorted({c for c in [*ledger.cycles(), *(r[0] for r in rows), upto, *also] if c <= upto}))
    reader = _EntryReader(ledger, sheet, _merged_files(ledger), renamed)
    refs = [str(item[template.plan.key]) for item in plan.items]
    return _Builder(
        template, known, cycles, reader, timed(plan.decisions, ledger.generated()), plan.words.meeting_short
    ), refs


def _picture(plan: Plan, ledger: Ledger, cycle: str) -> Picture:
    build, refs = _builder(plan, ledger, cycle)
    known, cycles = build.known, build.cycles
    previous = cycles[-2] if len(cycles) > 1 else None
    now = {ref: build.standing(ref, cycle) for ref in refs}
    before = {ref: build.standing(ref, previous) for ref in refs} if previous else {}
    trend = {
        ref: {c: known.worst(per.values()) for c, per in known.by_ref.get(ref, {}).items() if c <= cycle}
        for ref in refs
    }
    entered = frozenset(ref for ref, per in known.entered.items() if cycle in per)
    return Picture(cycle, previous, cycles, now, before, trend, entered)


def _merged_files(ledger: Ledger) -> dict[tuple[str, str], str]:
    """(cycle, recipient) -> the file name of the return merged for it."""
    return {
        (r.cycle, r.recipient): r.file for r in ledger.returns() if r.outcome == "merged" and r.cycle and r.recipient
    }


_NONE: Mapping[str, Any] = {}  # an entry with no values (read-only: shared)


class _EntryReader:
    """Whole entries of a cycle, decoded once and only for cycles a standing needs."""

    def __init__(
        self, ledger: Ledger, sheet: str, files: dict[tuple[str, str], str], renamed: Mapping[str, str] | None = None
    ) -> None:
        self.ledger, self.sheet, self.files = ledger, sheet, files
        self._cycles: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self._renamed = renamed or {}

    def entries(self, cycle: str, ref: str, recipients: Collection[str]) -> tuple[Entry, ...]:
        found = self._cycles.get(cycle)
        if found is None:
            found = self._cycles[cycle] = self._read(cycle)
        files = self.files
        if len(recipients) == 1:  # one sponsor, the common case
            who = next(iter(recipients))
            return (Entry(who, found.get((who, ref), _NONE), files.get((cycle, who), "")),)
        return tuple(
            Entry(who, found.get((who, ref), _NONE), files.get((cycle, who), "")) for who in sorted(recipients)
        )

    def _read(self, cycle: str) -> dict[tuple[str, str], dict[str, Any]]:
        """A cycle's entries by (recipient, ref), those of a renamed action under its ref now
        (an entry made under the new ref wins)."""
        found = self.ledger.entries(cycle, self.sheet)
        if not self._renamed:
            return found
        out = {(who, self._renamed[ref]): values for (who, ref), values in found.items() if ref in self._renamed}
        out.update((key, values) for key, values in found.items() if key[1] not in self._renamed)
        return out


class _Builder:
    def __init__(
        self,
        template: Template,
        known: _Statuses,
        cycles: tuple[str, ...],
        reader: _EntryReader,
        timeline: list[Timed] | None = None,
        meeting: str = "meeting",
    ) -> None:
        self.known, self.cycles, self.reader = known, cycles, reader
        self.meeting = meeting  # who decides: the plan's Settings' meeting, short
        self.status_key = template.status_column
        complete = template.complete
        self.complete = complete if self.status_key and complete in known.rank else None
        self.timeline: dict[str, list[Timed]] = {}
        for t in timeline or []:
            if t.decision.about_status:
                self.timeline.setdefault(t.decision.ref, []).append(t)
        rows = template.rows_sheet
        self.text_keys = [c.key for c in rows.editable_columns if c.type == "text"]

    def standing(self, ref: str, cycle: str) -> Standing:
        found = self._reported(ref, cycle)
        decided = status_decision(self.timeline[ref], ref, cycle) if ref in self.timeline else None
        if decided is None or self.complete is None or self.status_key is None:
            return found
        if found.as_of is not None and decided.cycle is not None and found.as_of > decided.cycle:
            return found  # reported since the decision: the report stands
        d = decided.decision
        values = dict(found.values)
        if d.decision == CLOSE:
            values[self.status_key] = self.complete
            source: Source = found.source if found.source != "never" else "carried"
            note = f"closed by the {self.meeting} on {d.date:%d/%m/%Y}" + (f" ({d.note})" if d.note else "")
            return dataclasses.replace(found, source=source, status=self.complete, values=values, decision=note)
        if found.status != self.complete:
            return found  # reopened, and not complete since: as it stands
        values[self.status_key] = None
        note = f"reopened by the {self.meeting} on {d.date:%d/%m/%Y}: no status since" + (
            f" ({d.note})" if d.note else ""
        )
        return dataclasses.replace(found, status=None, values=values, decision=note, disagreement=False)

    def _reported(self, ref: str, cycle: str) -> Standing:
        as_of = self.known.last_reported(ref, cycle)
        if as_of is None:
            return self._never(ref, cycle)
        per = self.known.by_ref[ref][as_of]
        entries = self.reader.entries(as_of, ref, per)
        status = self.known.worst(per.values())
        if as_of == cycle:
            source: Source = "reported"
            since = 0
        else:
            source = "carried"
            since = bisect_right(self.cycles, cycle) - bisect_right(self.cycles, as_of)
        return Standing(
            ref,
            cycle,
            source,
            status,
            as_of,
            since,
            entries,
            self._consolidated(entries, status),
            len(per) > 1 and len(set(per.values())) > 1,
        )

    def _never(self, ref: str, cycle: str) -> Standing:
        """No status ever: the latest notes anyone left on it, if any, are still shown."""
        cycles = [c for c in self.known.entered.get(ref, {}) if c <= cycle]
        if not cycles:
            return Standing(ref, cycle, "never")
        latest = max(cycles)
        entries = self.reader.entries(latest, ref, self.known.entered[ref][latest])
        return Standing(ref, cycle, "never", entries=entries, values=self._consolidated(entries, None))

    def _consolidated(self, entries: tuple[Entry, ...], status: str | None) -> dict[str, Any]:
        """The most severe entry's values; its blanks filled from the others (by name);
        text fields from several sponsors kept, each under the sponsor's name."""
        if len(entries) == 1:  # one sponsor, the common case: their values as they are (read-only)
            return entries[0].values  # type: ignore[return-value]
        key = self.status_key or ""
        worst = next((e for e in entries if e.values.get(key) == status), entries[0])
        values = dict(worst.values)
        for e in entries:
            for k, v in e.values.items():
                if is_blank(values.get(k)) and not is_blank(v):
                    values[k] = v
        if len(entries) > 1:
            for k in self.text_keys:
                said = [(e.recipient, e.values.get(k)) for e in entries if not is_blank(e.values.get(k))]
                if len(said) > 1:
                    values[k] = "\n".join(f"{who}: {text}" for who, text in said)
        return values


def values_before(plan: Plan, ledger: Ledger, cycle: str) -> dict[str, dict[str, Any]]:
    """Each item's standing values at the last cycle before `cycle`, carried forward where
    nobody reported it: what a workbook for `cycle` shows as last cycle's."""
    previous = ledger.previous_cycle(cycle)
    if not previous:
        return {}
    return {ref: dict(s.values) for ref, s in picture(plan, ledger, previous).now.items() if s.values}


def status_history(pic: Picture) -> list[tuple[str, dict[str, int]]]:
    """Status counts at every cycle of the plan's life up to `pic.cycle`, each item counted
    at its standing then: its status reported that cycle, else the last one reported before
    (carried forward), else "" (never reported). The same counts `picture(plan, ledger, c)`
    gives at each cycle `c`, read from one picture's trend rather than the ledger again."""
    out: list[tuple[str, dict[str, int]]] = []
    standing: dict[str, str] = {}
    for cycle in pic.cycles:
        counts: dict[str, int] = {}
        for ref in pic.now:
            said = pic.trend.get(ref, {}).get(cycle)
            if said:
                standing[ref] = said
            status = standing.get(ref, "")
            counts[status] = counts.get(status, 0) + 1
        out.append((cycle, counts))
    return out
