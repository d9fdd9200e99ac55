"""The SPG paper's content: one model of a cycle's report, rendered in every format.

`build_paper` reads a cycle's `Summary`, its `Gaps` and each action's standing
(`standing.picture`) into a `Paper` of sections: purpose and summary, status by group,
the plan's whole life (status counts per cycle), the exceptions (every action at an
attention status, carried-forward ones included, with the sponsor's own notes in
full), actions completed this cycle, overdue actions, decisions needed (proposed
timescale changes) and taken, feedback and case studies, returns received and missing,
progress by national outcome (when the plan provides it), and the officer's checks.

The text, Markdown and HTML reports, the SPG email (`report.py`) and the Word
paper (`report_docx.py`) all render this one model, through its sections
(`paper_sections.py`), so they cannot disagree. The
officer's checks (statuses the figures contradict, joint sponsors who disagree) are in
the model but rendered only when asked for (`officer=True`): they are questions for the
officer, not the SPG's business until answered.

Two sections show data other parts of xlplan may provide, and are left out without it:
- progress by National Health and Wellbeing Outcome, from `Summary.outcomes` (outcome ->
  status -> count, "" for no status, in the plan's order), rendered like the status table;
- decisions taken: the SPG's decisions taken in this cycle, from the plan's Decisions sheet
  (`plan.decisions`, each given its cycle by `decisions.timed`); a proposed change to a
  timescale decided this cycle is no longer among the decisions needed.

Everything here is data: text from plans and returns is kept exactly as typed, and each
renderer escapes it for its own format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from xlplan.decisions import Decision, Timed, timed
from xlplan.gaps import NOT_UPDATED, ActionGap, Gaps, Missing, movement
from xlplan.ledger import Ledger
from xlplan.look import as_date
from xlplan.plan import Plan, shown
from xlplan.standing import Picture, picture, status_history
from xlplan.summary import RecipientState, Summary, deadline_words, status_table, summarise
from xlplan.values import clean_text, is_blank, long_date
from xlplan.words import Words

NO_UPDATE = "No update"  # the column of actions with no status at all


@dataclass(frozen=True)
class Note:
    """One of the sponsor's own texts on an action, under its column's header."""

    header: str
    text: str


HISTORY_SHOWN = 8  # cycles of an action's history in the paper: two years of quarters


@dataclass(frozen=True)
class ActionLine:
    """An action as a section of the paper shows it: who, when, where it stands and why."""

    ref: str
    action: str
    group: str
    sponsor: str
    status: str  # "" when never reported
    last_status: str = ""
    movement: str = ""  # new | worsened | improved | unchanged | not updated
    due: str = ""  # ISO dates, as the master and the gaps write them
    revised_due: str = ""
    cycles_at: int = 0  # consecutive cycles up to this one at an attention status
    since: str = ""  # the first of those cycles
    standing: str = ""  # "reported by ...", or "not updated: last reported Red in 2025-Q2 (1 cycle ago)"
    carried: bool = False  # nobody reported it this cycle: its status is carried forward
    notes: tuple[Note, ...] = ()  # the sponsor's progress note and comments, in full
    history: tuple[tuple[str, str], ...] = ()  # (cycle, status reported then, "" if none), oldest first

    @property
    def history_line(self) -> str:
        """'2023-Q1 Green, 2023-Q2 Amber, 2023-Q3 not updated, 2023-Q4 Red': the latest
        HISTORY_SHOWN cycles, when there is more than one."""
        if len(self.history) < 2:
            return ""
        shown = self.history[-HISTORY_SHOWN:]
        earlier = "… " if len(self.history) > len(shown) else ""
        return earlier + ", ".join(f"{cycle} {status or 'not updated'}" for cycle, status in shown)

    @property
    def heading(self) -> str:
        """'BA1.01 is Red (worsened): Recruit ...': the line every format gives it."""
        why = self.standing if self.carried else self.movement
        return f"{self.ref} is {self.status or 'not reported'}{f' ({why})' if why else ''}: {self.action}"


@dataclass(frozen=True)
class Overdue:
    ref: str
    action: str
    sponsor: str
    status: str
    due: str
    revised_due: str = ""

    @property
    def heading(self) -> str:
        return f"{self.ref} is overdue (due {self.due}{f', revised to {self.revised_due}' if self.revised_due else ''}): {self.action}"


@dataclass(frozen=True)
class TimescaleChange:
    """A revised due date a return proposes this cycle: for the SPG to approve or not."""

    ref: str
    action: str
    sponsor: str
    due: date | None
    proposed: date
    days_later: int | None
    earlier: date | None  # what was proposed last cycle
    status: str
    progress: str
    decision: str = ""  # what the SPG decided on it ("" = not decided yet)
    agreed: date | None = None  # the agreed due date, once decided


@dataclass(frozen=True)
class Table:
    """A table of plain values: decisions taken, progress by outcome."""

    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class FeedbackGroup:
    group: str
    entries: list[tuple[str, tuple[Note, ...]]]  # (recipient, their texts)


@dataclass(frozen=True)
class OfficerCheck:
    """For the officer, not the SPG: a status the figures contradict, or joint sponsors who disagree."""

    kind: str  # contradiction | disagreement
    ref: str
    action: str
    status: str
    detail: str
    recipients: str = "recipients"  # what the plan calls them: "joint ... disagree"

    @property
    def line(self) -> str:
        if self.kind == "disagreement":
            return (
                f"{self.ref}: joint {self.recipients} disagree ({self.detail}; the most severe is shown): {self.action}"
            )
        return f"{self.ref}: status {self.status} but {self.detail}: {self.action}"


@dataclass
class Paper:
    """A cycle's report, section by section, for every format."""

    plan_title: str
    cycle: str
    previous_cycle: str | None
    spg_date: date | None
    deadline: date
    today: date
    officer: str  # the planning officer, who presents the paper
    items_label: str  # "Actions"
    group_label: str  # "Big Action"
    status_label: str  # "RAG status"
    recipient_label: str  # "sponsor"
    statuses: list[str]
    colours: dict[str, tuple[str, str]]  # status -> (fill, font)
    attention: list[str]  # the statuses that need the SPG's attention (Red, Amber)
    complete: str | None
    totals: dict[str, int]
    status_header: list[str]  # the status-by-group table
    status_rows: list[list[Any]]
    history: list[tuple[str, dict[str, int]]]  # the plan's whole life: cycle -> status -> count
    exceptions: list[ActionLine] = field(default_factory=list)
    completed: list[ActionLine] = field(default_factory=list)
    overdue: list[Overdue] = field(default_factory=list)
    decisions_needed: list[TimescaleChange] = field(default_factory=list)
    decisions_taken: Table | None = None  # the plan's SPG Decisions sheet, when it has one
    feedback: list[FeedbackGroup] = field(default_factory=list)
    recipients: list[RecipientState] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    not_updated: list[ActionLine] = field(default_factory=list)
    outcomes: Table | None = None  # progress by National Health and Wellbeing Outcome, when provided
    checks: list[OfficerCheck] = field(default_factory=list)  # officer-only
    words: Words = field(default_factory=Words.plain)  # what the plan calls things (template and Settings)
    # Whether the template has due dates (roles.due) and revised ones (roles.revised): without
    # them the paper has no overdue or timescale sections to show.
    dated: bool = True
    revisable: bool = True
    has_feedback: bool = True  # the template has a feedback sheet (one area per group)

    @property
    def days_to_deadline(self) -> int:
        return (self.deadline - self.today).days

    @property
    def received(self) -> int:
        return sum(1 for r in self.recipients if r.state == "merged")

    @property
    def title(self) -> str:
        return f"{self.plan_title}: progress report {self.cycle}"

    @property
    def returns_line(self) -> str:
        return (
            f"Returns: {self.received} of {len(self.recipients)} received and merged; "
            f"{deadline_words(self.days_to_deadline)} ({long_date(self.deadline, weekday=False)})."
        )

    @property
    def purpose(self) -> str:
        when = f" on {long_date(self.spg_date, weekday=False)}" if self.spg_date else ""
        meeting = f" {self.words.for_meeting}{when}"
        attention = " or ".join(self.attention) or "needing attention"
        return (
            f"To report progress on the {self.plan_title} in {self.cycle}{meeting}: where each "
            f"{self.group_label} stands, the {self.items_label.lower()} at {attention} explained in their "
            f"{self.recipient_label}s' own words, and the decisions the group is asked to make."
        )

    @property
    def counts_line(self) -> str:
        total = sum(self.totals.values())
        parts = [f"{self.totals.get(s, 0)} {s}" for s in self.statuses]
        if self.totals.get(""):
            parts.append(f"{self.totals['']} with no update")
        line = f"Of {total} {self.items_label.lower()}: {', '.join(parts)}."
        carried = sum(1 for a in self.not_updated if a.status)
        if carried:
            line += f" {carried} not updated this cycle keep their last reported status (carried forward)."
        return line

    @property
    def movement_line(self) -> str:
        """'Since 2023-Q2: 2 worsened, 1 improved, ...' of the exceptions, or ''."""
        if not self.previous_cycle or not self.exceptions:
            return ""
        counts: dict[str, int] = {}
        for line in self.exceptions:
            counts[line.movement or "new"] = counts.get(line.movement or "new", 0) + 1
        said = ", ".join(f"{n} {m}" for m, n in counts.items())
        attention = " or ".join(self.attention)
        return f"At {attention} since {self.previous_cycle}: {said}."

    def as_dict(self) -> dict[str, Any]:
        """Everything, officer's checks included, as JSON-ready values."""
        out = asdict(self)
        out["title"] = self.title
        for key in ("spg_date", "deadline", "today"):
            out[key] = out[key].isoformat() if out[key] else None
        for change in out["decisions_needed"]:
            for key in ("due", "proposed", "earlier", "agreed"):
                change[key] = change[key].isoformat() if change[key] else None
        out["history"] = [{"cycle": c, "counts": counts} for c, counts in self.history]
        return out


def build_paper(
    plan: Plan,
    ledger: Ledger,
    cycle: str,
    today: date,
    summary: Summary | None = None,
) -> Paper:
    """The cycle's paper from its summary, gaps and every action's standing."""
    template = plan.template
    pic = picture(plan, ledger, cycle)
    summary = summary or summarise(plan, ledger, cycle, today, pic=pic)
    gaps = summary.gaps or Gaps(cycle, summary.deadline, today)
    attention = [s for s in template.attention if s in summary.statuses]
    complete = template.complete
    complete = complete if complete in summary.statuses else None
    header, rows = status_table(summary)
    lines = _Lines(plan, pic, attention)
    group_col = next((c for c in template.plan.columns if c.key == template.plan.group_by), None)
    status_col = template.rows_sheet.column(template.status_column or "")
    paper = Paper(
        plan_title=summary.plan_title,
        cycle=cycle,
        previous_cycle=summary.previous_cycle,
        spg_date=summary.spg_date,
        deadline=summary.deadline,
        today=today,
        officer=plan.settings.get("officer", ""),
        items_label=template.plan.items_sheet,
        group_label=group_col.header if group_col else "Group",
        status_label=status_col.header if status_col else "Status",
        recipient_label=template.plan.recipient_label,
        statuses=summary.statuses,
        colours=summary.colours,
        attention=attention,
        complete=complete,
        totals=summary.totals,
        status_header=header,
        status_rows=rows,
        history=status_history(pic),
        recipients=summary.recipients,
        missing=gaps.missing_returns,
        words=plan.words,
        dated=plan.template.due_key is not None,
        revisable=plan.template.revised_key is not None,
        has_feedback=plan.template.groups_sheet is not None,
    )
    paper.exceptions = [lines.of(g) for g in gaps.attention]  # plan order, as the gaps
    paper.completed = [
        lines.of(ref)
        for ref, s in pic.now.items()
        if complete and s.reported and s.status == complete and pic.last_status(ref) != complete
    ]
    paper.overdue = [Overdue(g.ref, g.action, g.sponsor, g.status or "", g.due, _revised(g)) for g in gaps.overdue]
    timeline = timed(plan.decisions, ledger.generated())
    paper.decisions_needed = [c for c in proposed_changes(plan, pic, timeline) if not c.decision]
    paper.decisions_taken = _decisions_taken(plan, timeline, cycle)
    paper.feedback = _feedback(plan, ledger, cycle)
    paper.not_updated = [lines.of(g) for g in [*gaps.no_update, *gaps.no_status]]
    paper.outcomes = _outcomes(summary)
    paper.checks = [
        *(OfficerCheck("contradiction", g.ref, g.action, g.status or "", g.detail) for g in gaps.contradictions),
        *(
            OfficerCheck("disagreement", g.ref, g.action, g.status or "", g.detail, plan.words.recipients)
            for g in gaps.disagreements
        ),
    ]
    return paper


def _revised(gap: ActionGap) -> str:
    return gap.detail.removeprefix("revised to ") if gap.detail.startswith("revised to ") else ""


class _Lines:
    """Each action's line, read from its standing."""

    def __init__(self, plan: Plan, pic: Picture, attention: list[str]) -> None:
        self.plan, self.pic, self.attention = plan, pic, attention
        template = plan.template
        spec = template.plan
        self.key, self.group_key = spec.key, spec.group_by
        self.sponsor_key = spec.assign_by if spec.assign_by != "all" else None
        self.title_key = template.label_key
        self.due_key, self.revised_key = template.due_key, template.revised_key
        self.texts = [(c.key, c.header) for c in template.rows_sheet.editable_columns if c.type == "text"]
        order = list(template.status_choices.names) if template.status_choices else []
        self.order = order

    def of(self, gap_or_ref: ActionGap | str) -> ActionLine:
        ref = gap_or_ref if isinstance(gap_or_ref, str) else gap_or_ref.ref
        item = self.plan.by_ref.get(ref, {})
        standing = self.pic.now.get(ref)
        values: Mapping[str, Any] = standing.values if standing else {}
        status = (standing.status if standing else None) or ""
        last = self.pic.last_status(ref) or ""
        if isinstance(gap_or_ref, str):
            move = (
                movement(status, last, self.order)
                if standing and standing.reported
                else NOT_UPDATED
                if standing and standing.carried
                else ""
            )
        else:
            move = gap_or_ref.movement
        due = shown(item, self.due_key) if self.due_key else None  # as written, if it was in words
        revised = as_date(values.get(self.revised_key)) if self.revised_key else None
        cycles_at, since = self._at_risk(ref)
        return ActionLine(
            ref=str(ref),
            action=clean_text(item.get(self.title_key)),
            group=clean_text(item.get(self.group_key)),
            sponsor=clean_text(item.get(self.sponsor_key)) if self.sponsor_key else "",
            status=status,
            last_status=last,
            movement=move,
            due=due.isoformat() if isinstance(due, date) else clean_text(due),
            revised_due=revised.isoformat() if revised else "",
            cycles_at=cycles_at,
            since=since,
            standing=standing.note if standing else "",
            carried=bool(standing and standing.carried),
            notes=tuple(Note(header, str(values[k])) for k, header in self.texts if not is_blank(values.get(k))),
            history=self._history(ref),
        )

    def _history(self, ref: str) -> tuple[tuple[str, str], ...]:
        """The status reported at each cycle since the action was first reported."""
        per_cycle = self.pic.trend.get(ref) or {}
        if not per_cycle:
            return ()
        first = min(per_cycle)
        return tuple((c, per_cycle.get(c, "")) for c in self.pic.cycles if c >= first)

    def _at_risk(self, ref: str) -> tuple[int, str]:
        """Consecutive cycles up to this one at an attention status (a cycle nobody reported
        it in keeps its last status), and the first of them."""
        per_cycle = self.pic.trend.get(ref) or {}
        count, since, standing = 0, "", None
        for cycle in self.pic.cycles:
            standing = per_cycle.get(cycle) or standing
            if standing in self.attention:
                count, since = count + 1, since or cycle
            else:
                count, since = 0, ""
        return count, since


def proposed_changes(plan: Plan, pic: Picture, timeline: Sequence[Timed] = ()) -> list[TimescaleChange]:
    """The revised due dates this cycle's standings propose, and what the SPG decided on each
    in this cycle (`timeline`: the plan's decisions with the cycle each was taken in): a
    proposal the agreed due date already matches, with no decision this cycle, is left out.
    The master's Proposed changes sheet shows this list; the paper asks for the undecided."""
    template = plan.template
    due_key, revised_key = template.due_key, template.revised_key
    if revised_key is None:
        return []
    spec = template.plan
    title_key = template.label_key
    status_key = template.status_column
    progress_key = template.progress_key
    decided: dict[str, tuple[Decision, bool]] = {}  # ref -> latest timescale decision, taken this cycle?
    for t in timeline:
        if t.decision.about_timescale and (t.cycle is None or t.cycle <= pic.cycle):
            decided[t.decision.ref] = (t.decision, t.cycle is None or t.cycle == pic.cycle)
    out = []
    for item in plan.items:
        ref = item[spec.key]
        now = pic.values(ref)
        proposed = as_date(now.get(revised_key))
        agreed = as_date(item.get(due_key)) if due_key else None  # the plan's date, or the one the SPG approved
        due = as_date(plan.planned_due.get(ref, item.get(due_key) if due_key else None))  # the plan's own
        decision = decided.get(ref)
        if proposed is None or (proposed == agreed and (decision is None or not decision[1])):
            continue
        before = pic.before.get(ref)
        d = decision[0] if decision else None
        out.append(
            TimescaleChange(
                ref=str(ref),
                action=clean_text(item.get(title_key)),
                sponsor=clean_text(item.get(spec.assign_by)) if spec.assign_by != "all" else "",
                due=due,
                proposed=proposed,
                days_later=(proposed - due).days if due else None,
                earlier=as_date(before.values.get(revised_key)) if before else None,
                status=clean_text(now.get(status_key)) if status_key else "",
                progress=clean_text(now.get(progress_key)) if progress_key else "",
                decision=f"{d.describe()} ({d.date:%d/%m/%Y}){': ' + d.note if d.note else ''}" if d else "",
                agreed=agreed if d else None,
            )
        )
    return out


def _feedback(plan: Plan, ledger: Ledger, cycle: str) -> list[FeedbackGroup]:
    """Feedback and case studies received this cycle, per group in plan order."""
    sheet = plan.template.groups_sheet
    if sheet is None:
        return []
    fields = [(c.key, c.header) for c in sheet.columns]
    by_group: dict[str, list[tuple[str, tuple[Note, ...]]]] = {}
    for (recipient, group), values in sorted(ledger.entries(cycle, sheet.name).items()):
        notes = tuple(Note(header, str(values[k])) for k, header in fields if not is_blank(values.get(k)))
        if notes:
            by_group.setdefault(group, []).append((recipient, notes))
    key = plan.template.plan.group_by
    order = list(dict.fromkeys(str(i.get(key)) for i in plan.items if i.get(key)))
    order += [g for g in by_group if g not in order]
    return [FeedbackGroup(g, by_group[g]) for g in order if g in by_group]


def _decisions_taken(plan: Plan, timeline: Sequence[Timed], cycle: str) -> Table | None:
    """The SPG's decisions taken in this cycle (the plan's Decisions sheet), in date order."""
    title_key = plan.template.label_key
    rows = [
        [
            t.decision.date.isoformat(),
            t.decision.ref,
            t.decision.decision,
            t.decision.new_due.isoformat() if t.decision.new_due else "",
            t.decision.note,
            clean_text(plan.by_ref.get(t.decision.ref, {}).get(title_key)),
        ]
        for t in timeline
        if t.cycle is None or t.cycle == cycle
    ]
    header = ["Date", "Ref", "Decision", "New due date", "Note", plan.words.item.capitalize()]
    return Table(header, rows) if rows else None


def _outcomes(summary: Summary) -> Table | None:
    """Progress by National Health and Wellbeing Outcome, when the summary has it
    (`Summary.outcomes`: outcome -> status -> count, in the plan's order), as a status table."""
    found = summary.outcomes
    if not found:
        return None
    header = ["National outcome", *summary.statuses, NO_UPDATE, "Total"]
    rows = [
        [outcome, *[str(per.get(s, 0)) for s in summary.statuses], str(per.get("", 0)), str(sum(per.values()))]
        for outcome, per in found.items()
    ]
    return Table(header, rows)
