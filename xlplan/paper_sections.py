"""The paper's sections: what every format renders, in order, from one `Paper`.

`sections(paper)` turns the model (`paper.build_paper`) into a few kinds of block
(paragraph, table, item, bullets, chart) that `report.py` writes as text, Markdown and
HTML and `report_docx.py` as a Word document. The officer's checks come last and only
with `officer=True`; lists stop at `LISTED` items (the Word paper lists every one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xlplan.paper import NO_UPDATE, ActionLine, Note, Paper

# --- the sections every format renders -------------------------------------------------

# A national cycle has thousands of Red, Amber and overdue actions: a report or an email
# lists the first of each and says where the master tracker lists them all. The Word
# paper lists every one (listed=None).
LISTED = 50


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Grid:
    """A table. `numeric_from`: columns from there on are counts (right-aligned);
    `status_cols`: columns whose cells are statuses (coloured where a format can);
    `status_header`: the header's status names are coloured."""

    header: list[str]
    rows: list[list[Any]]
    numeric_from: int | None = None
    status_cols: tuple[int, ...] = ()
    status_header: bool = False
    total_row: bool = False  # the last row is a total


@dataclass(frozen=True)
class Item:
    """One action (or group) told in full: a heading, its facts, and the texts as written."""

    heading: str
    status: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Chart:
    """A picture of the table before it, where a format can draw one (the Word paper)."""

    kind: str  # groups | history


Block = Para | Grid | Item | Bullets | Chart


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: list[Block]
    officer_only: bool = False


def more_line(count: int, listed: int | None, sheet: str) -> list[Block]:
    if listed is None or count <= listed:
        return []
    return [Para(f"... and {count - listed} more: the {sheet} sheet of the master tracker lists them all.")]


def _cut(found: Sequence[Any], listed: int | None) -> list[Any]:
    return list(found if listed is None else found[:listed])


def sections(paper: Paper, *, officer: bool = False, listed: int | None = LISTED) -> list[Section]:
    """The paper's sections in order; the officer's checks only when `officer`."""
    p = paper
    attention = " and ".join(p.attention) or "Needing attention"
    attention_or = " or ".join(p.attention) or "an attention status"
    out = [
        Section("purpose", "Purpose", [Para(p.purpose)]),
        Section("summary", "Summary", _summary(p)),
    ]
    if p.statuses:
        out.append(
            Section(
                "by_group",
                f"{p.status_label} by {p.group_label}",
                [Grid(p.status_header, p.status_rows, 1, status_header=True, total_row=True), Chart("groups")],
            )
        )
        out.append(Section("history", f"{p.status_label} over the plan's life", _history(p)))
        out.append(Section("exceptions", attention, _exceptions(p, attention_or, listed)))
    if p.complete:
        done = [Item(a.heading, a.status, _facts(a, p, risk=False), a.notes) for a in _cut(p.completed, listed)]
        out.append(
            Section(
                "completed",
                "Completed this cycle",
                done + more_line(len(p.completed), listed, "Current status")
                if done
                else [Para(f"No {p.items_label.lower()} were reported complete this cycle.")],
            )
        )
    if p.dated:
        out.append(Section("overdue", "Overdue", _overdue(p, listed)))
    if p.revisable:
        out.append(
            Section("decisions_needed", "Decisions needed: proposed changes to timescales", _decisions(p, listed))
        )
    if p.decisions_taken:
        out.append(
            Section("decisions_taken", "Decisions taken", [Grid(p.decisions_taken.header, p.decisions_taken.rows)])
        )
    if p.has_feedback:
        out.append(Section("feedback", "Feedback and case studies", _feedback_blocks(p)))
    out.append(Section("returns", "Returns received and missing", _returns(p, listed)))
    if p.outcomes:
        out.append(
            Section(
                "outcomes",
                "Progress by National Health and Wellbeing Outcome",
                [Grid(p.outcomes.header, p.outcomes.rows, 1, status_header=True)],
            )
        )
    if officer and p.checks:
        out.append(
            Section(
                "officer",
                f"For the officer: checks before the paper goes to the {p.words.meeting_short}",
                _checks(p, listed),
                True,
            )
        )
    return out


def _summary(p: Paper) -> list[Block]:
    blocks: list[Block] = [Para(p.counts_line)]
    if p.movement_line:
        blocks.append(Para(p.movement_line))
    attention = " or ".join(p.attention) or "needing attention"
    found = [f"{len(p.exceptions)} at {attention}"]
    if p.complete:
        found.append(f"{len(p.completed)} completed this cycle")
    if p.dated:
        found.append(f"{len(p.overdue)} overdue")
    if p.revisable:
        found.append(f"{len(p.decisions_needed)} proposed changes to timescales for decision")
    blocks.append(Para(f"{p.items_label}: {', '.join(found)}."))
    return blocks


def _history(p: Paper) -> list[Block]:
    header = ["Cycle", *p.statuses, NO_UPDATE, "Total"]
    rows = [
        [c, *[counts.get(s, 0) for s in p.statuses], counts.get("", 0), sum(counts.values())] for c, counts in p.history
    ]
    return [
        Para(
            f"Each cycle's counts: an {p.items_label.lower()[:-1] if p.items_label.endswith('s') else 'item'} "
            "nobody reported on counts at its last reported status (carried forward)."
        ),
        Grid(header, rows, 1, status_header=True),
        Chart("history"),
    ]


def _facts(a: ActionLine, p: Paper, *, risk: bool = True) -> tuple[tuple[str, str], ...]:
    facts = [(p.group_label, a.group)]
    if a.sponsor:
        facts.append((p.recipient_label.capitalize(), a.sponsor))
    if a.due:
        facts.append(("Due date", a.due))
    if a.revised_due:
        facts.append(("Revised due date", a.revised_due))
    if risk:
        facts.append((f"Last cycle{f' ({p.previous_cycle})' if p.previous_cycle else ''}", a.last_status or "none"))
        cycles = "cycle" if a.cycles_at == 1 else "cycles"
        facts.append(
            (f"At {' or '.join(p.attention)}", f"{a.cycles_at} {cycles} (since {a.since})" if a.since else "-")
        )
        facts.append(("History", a.history_line))
    facts.append(("Status from", a.standing))
    return tuple((k, v) for k, v in facts if v)


def _exceptions(p: Paper, attention: str, listed: int | None) -> list[Block]:
    if not p.exceptions:
        return [Para(f"No {p.items_label.lower()} at {attention} this cycle.")]
    shown = _cut(p.exceptions, listed)
    return [
        Para(
            f"Every {p.items_label.lower()[:-1] if p.items_label.endswith('s') else 'item'} at {attention}, "
            f"those not updated this cycle included (their last reported status stands), "
            f"with the {p.recipient_label}'s own notes in full."
        ),
        Grid(
            ["Ref", "Status", "Last cycle", "Movement", p.words.item.capitalize()],
            [[a.ref, a.status, a.last_status, a.movement, a.action] for a in shown],
            status_cols=(1, 2),
        ),
        *more_line(len(p.exceptions), listed, "Risk register"),
        *(Item(a.heading, a.status, _facts(a, p), a.notes) for a in shown),
    ]


def _overdue(p: Paper, listed: int | None) -> list[Block]:
    if not p.overdue:
        return [Para(f"No {p.items_label.lower()} are past their due date.")]
    shown = _cut(p.overdue, listed)
    refs = ", ".join(o.ref for o in shown)
    more = f" and {len(p.overdue) - len(shown)} more" if len(p.overdue) > len(shown) else ""
    return [
        Para(f"Overdue {p.words.items}: {refs}{more}."),
        Bullets(
            [
                f"{o.heading} ({o.status or 'no status'}"
                + (f"; {p.recipient_label}: {o.sponsor})" if o.sponsor else ")")
                for o in shown
            ]
        ),
        *more_line(len(p.overdue), listed, "Gaps"),
    ]


def _decisions(p: Paper, listed: int | None) -> list[Block]:
    if not p.decisions_needed:
        return [Para("No proposed change to timescales awaits a decision this cycle.")]
    shown = _cut(p.decisions_needed, listed)
    earlier = f"Proposed in {p.previous_cycle}" if p.previous_cycle else "Proposed before"
    return [
        Para(
            f"The {p.words.meeting_short} is asked to approve or not each revised due date below, proposed in "
            "this cycle's returns. The plan is unchanged until it decides."
        ),
        Grid(
            [
                "Ref",
                p.recipient_label.capitalize(),
                "Due date",
                "Proposed",
                "Days later",
                earlier,
                "Status",
                p.words.item.capitalize(),
            ],
            [
                [
                    c.ref,
                    c.sponsor,
                    c.due.isoformat() if c.due else "",
                    c.proposed.isoformat(),
                    "" if c.days_later is None else str(c.days_later),
                    c.earlier.isoformat() if c.earlier else "",
                    c.status,
                    c.action,
                ]
                for c in shown
            ],
            status_cols=(6,),
        ),
        *more_line(len(p.decisions_needed), listed, "Proposed changes to timescales"),
    ]


def _feedback_blocks(p: Paper) -> list[Block]:
    if not p.feedback:
        return [Para("None received this cycle.")]
    return [
        Item(g.group, notes=tuple(Note(f"{who}: {n.header}", n.text) for who, notes in g.entries for n in notes))
        for g in p.feedback
    ]


def _returns(p: Paper, listed: int | None) -> list[Block]:
    blocks: list[Block] = [
        Para(p.returns_line),
        Grid(
            [p.recipient_label.capitalize(), "Return", "File"],
            [[r.recipient, r.state, r.file] for r in p.recipients],
        ),
    ]
    if p.missing:
        blocks.append(Bullets([f"No clean return from {m.recipient} ({m.outcome})" for m in p.missing]))
    if p.not_updated:
        shown = _cut(p.not_updated, listed)
        blocks += [
            Para(
                f"{len(p.not_updated)} {p.items_label.lower()} not updated this cycle: each keeps its last "
                "reported status, if it has one."
            ),
            Grid(
                ["Ref", "Status", p.recipient_label.capitalize(), "Status from", p.words.item.capitalize()],
                [[a.ref, a.status, a.sponsor, a.standing, a.action] for a in shown],
                status_cols=(1,),
            ),
            *more_line(len(p.not_updated), listed, "Gaps"),
        ]
    return blocks


def _checks(p: Paper, listed: int | None) -> list[Block]:
    contradictions = [c for c in p.checks if c.kind == "contradiction"]
    disagreements = [c for c in p.checks if c.kind == "disagreement"]
    blocks: list[Block] = [
        Para(
            f"Questions for the planning officer, not for the {p.words.meeting_short} until answered: statuses "
            f"the figures seem to contradict, and joint {p.words.recipients} who gave different statuses."
        )
    ]
    for found in (contradictions, disagreements):
        if found:
            blocks.append(Bullets([c.line for c in _cut(found, listed)]))
            blocks += more_line(len(found), listed, "Gaps")
    return blocks
