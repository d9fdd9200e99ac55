"""The SPG paper: one content model (`paper.py`) rendered as text, Markdown, HTML, the SPG
email and a Word document (`report --format docx`), and the plan's whole life.

Two plans: the demo (two cycles; Deborah Gillespie's return missing and Charlene Elliot's
quarantined, so their Red and Amber actions are carried forward), and four quarters on the
test plan in which Helen Watson stops replying after the first (her Red BA1.01 is carried
forward three times) and Allen Stevenson's last note runs over several lines. Every
expectation is read from the ledger or the returns written here, not from the code under
test. The Word paper is read back with python-docx and converted to PDF by LibreOffice.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import docx
import pytest
from click.testing import CliRunner
from conftest import BA1, BA3, demo_copy, make_plan_folder
from helpers import ALLEN, HELEN, SHARON
from libreoffice import convert
from test_summary import HOSTILE, HOSTILE_GROUP, Html, build_hostile

from xlplan.cli import main
from xlplan.collect import collect
from xlplan.generate import generate
from xlplan.ledger import Ledger
from xlplan.mail import spg_draft
from xlplan.paper import Paper, build_paper
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.report import to_html, to_markdown, to_text
from xlplan.report_docx import write_docx
from xlplan.samples.sponsor import fill_return
from xlplan.standing import picture, status_history

CYCLE = "2023-Q3"
TODAY = date(2023, 9, 20)
CARRIED = {"BA5.02": "Amber", "BA5.04": "Red", "BA5.07": "Amber", "BA6.02": "Amber"}  # not updated in 2023-Q3
SECTIONS = [
    "Purpose",
    "Summary",
    "RAG status by Big Action",
    "RAG status over the plan's life",
    "Red and Amber",
    "Completed this cycle",
    "Overdue",
    "Decisions needed: proposed changes to timescales",
    "Feedback and case studies",
    "Returns received and missing",
    "Progress by National Health and Wellbeing Outcome",  # the sample maps its Big Actions (issue 19)
]


@pytest.fixture(scope="module")
def demo(built_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_copy(built_demo, tmp_path_factory, "paper")


@pytest.fixture(scope="module")
def plan(demo: Path) -> Plan:
    return load_plan(PlanFolder(demo))


@pytest.fixture(scope="module")
def paper(plan: Plan) -> Paper:
    with Ledger(plan.folder.ledger_file) as ledger:
        return build_paper(plan, ledger, CYCLE, TODAY)


def words(text: str) -> str:
    return " ".join(text.split())


def squashed(text: str) -> str:
    """Text as pdftotext can be compared with it: a hyphen at a line's end is dropped with the
    break, and a page's footer ("Page 2") may fall inside a note."""
    return "".join(re.sub(r"\bPage \d+\b", "", text).split()).replace("-", "")


def said(plan: Plan, cycle: str) -> dict[str, dict[str, Any]]:
    """What each action's sponsors last said, up to `cycle`: ref -> field -> text, from the
    ledger's entries (one sponsor per action in the demo's Red and Amber ones)."""
    out: dict[str, dict[str, Any]] = {}
    with Ledger(plan.folder.ledger_file) as ledger:
        for c in sorted(c for c in ledger.cycles() if c <= cycle):
            for (_who, ref), fields in ledger.entries(c, "Actions").items():
                if fields.get("rag"):
                    out[ref] = dict(fields)
    return out


# --- the content ---------------------------------------------------------------------


def test_the_exceptions_are_every_red_and_amber_action_in_the_sponsors_words(plan: Plan, paper: Paper) -> None:
    last = said(plan, CYCLE)
    red_amber = {ref: f["rag"] for ref, f in last.items() if f["rag"] in ("Red", "Amber")}
    assert {a.ref: a.status for a in paper.exceptions} == red_amber
    assert CARRIED.items() <= red_amber.items()
    for a in paper.exceptions:
        notes = {n.header: n.text for n in a.notes}
        if a.ref in ("BA3.02",):  # joint: each sponsor's note under their name
            assert all(name in notes["Progress this period"] for name in ("Allen Stevenson", "Sharon McAlees"))
            continue
        assert notes["Progress this period"] == last[a.ref]["progress"]
        assert notes.get("Comments / risks") == last[a.ref].get("comments")
        assert a.sponsor == plan.by_ref[a.ref]["sponsor"]
        assert a.due == plan.by_ref[a.ref]["due"].isoformat()
        assert a.carried == (a.ref in CARRIED)
        if a.carried:
            assert a.standing == f"not updated: last reported {a.status} in 2023-Q2 (1 cycle ago)"
            assert a.movement == "not updated"
        assert a.cycles_at >= 1 and a.since in ("2023-Q2", "2023-Q3")
    revised = {a.ref: a.revised_due for a in paper.exceptions if a.revised_due}
    assert revised == {ref: last[ref]["revised_due"][:10] for ref in red_amber if last[ref].get("revised_due")}


def test_completed_decisions_feedback_and_returns(plan: Plan, paper: Paper) -> None:
    with Ledger(plan.folder.ledger_file) as ledger:
        q3 = {ref: f for (_w, ref), f in ledger.entries(CYCLE, "Actions").items()}
        q2 = {ref: f for (_w, ref), f in ledger.entries("2023-Q2", "Actions").items()}
        feedback = ledger.entries(CYCLE, "Feedback")
    completed = {ref for ref, f in q3.items() if f.get("rag") == "Blue" and q2.get(ref, {}).get("rag") != "Blue"}
    assert {a.ref for a in paper.completed} == completed and completed
    proposed = {
        ref
        for ref, f in said(plan, CYCLE).items()
        if f.get("revised_due") and f["revised_due"][:10] != plan.by_ref[ref]["due"].isoformat()
    }
    assert {c.ref for c in paper.decisions_needed} == proposed and proposed
    for c in paper.decisions_needed:
        assert c.days_later == (c.proposed - c.due).days if c.due else c.days_later is None
    given = {(who, group) for (who, group), f in feedback.items() if f.get("feedback") or f.get("case_study")}
    assert {(who, g.group) for g in paper.feedback for who, _ in g.entries} == given
    assert [(m.recipient, m.outcome) for m in paper.missing] == [
        ("Deborah Gillespie", "missing"),
        ("Charlene Elliot", "quarantined"),
    ]
    assert paper.decisions_taken is None  # the sample plan has no Decisions sheet
    # The sample maps each Big Action to its national outcomes (the SOP's own table, issue 19).
    assert paper.outcomes is not None
    assert [row[0].split(".")[0] for row in paper.outcomes.rows] == [str(n) for n in range(1, 10)]
    assert paper.outcomes.rows[4][0] == "5. Health and social care services contribute to reducing health inequalities."


def test_the_plans_whole_life_counts_each_cycle_as_it_stood(plan: Plan, paper: Paper) -> None:
    with Ledger(plan.folder.ledger_file) as ledger:
        for cycle, counts in paper.history:
            pic = picture(plan, ledger, cycle)
            expected: dict[str, int] = {}
            for s in pic.now.values():
                expected[s.status or ""] = expected.get(s.status or "", 0) + 1
            assert counts == expected, cycle
    assert [c for c, _ in paper.history] == ["2023-Q2", "2023-Q3"]
    assert paper.history[-1][1] == {k: v for k, v in paper.totals.items() if v}


def test_officer_checks_stay_out_of_the_spg_copy(paper: Paper) -> None:
    assert paper.checks, "the demo has statuses its figures contradict"
    check = paper.checks[0].line
    spg = [to_text(paper), to_markdown(paper), to_html(paper)]
    officer = [to_text(paper, officer=True), to_markdown(paper, officer=True), to_html(paper, officer=True)]
    for copy in spg:
        assert "suggests" not in copy and "For the officer" not in copy
    for copy in officer:
        assert "For the officer" in copy
    assert check in officer[0]
    assert check in words("".join(Html(officer[2]).text))
    dumped = json.dumps(paper.as_dict())
    assert paper.checks[0].detail in dumped  # the JSON keeps everything


# --- every format carries the same Red and Amber actions -------------------------------


def _docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_every_format_carries_the_same_red_and_amber_actions(
    demo: Path, plan: Plan, paper: Paper, tmp_path: Path
) -> None:
    write_docx(paper, tmp_path / "paper.docx")
    message = spg_draft(plan, CYCLE, TODAY)
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    formats = {
        "text": to_text(paper),
        "markdown": to_markdown(paper).replace("\\\n", "\n"),  # a note's line breaks are hard breaks
        "html": words("".join(Html(to_html(paper)).text)),
        "email text": plain.get_content(),
        "email html": words("".join(Html(rich.get_content()).text)),
        "docx": _docx_text(tmp_path / "paper.docx"),
    }
    for name, text in formats.items():
        flat = words(text)
        for a in paper.exceptions:
            heading = a.heading if name != "markdown" else a.heading.replace("<", "&lt;").replace(">", "&gt;")
            assert words(heading) in flat, (name, a.ref)
            for note in a.notes:  # the sponsor's own words, in full
                assert words(note.text) in flat, (name, a.ref, note.header)
        for ref in CARRIED:
            assert f"{ref} is {CARRIED[ref]} (not updated: last reported {CARRIED[ref]} in 2023-Q2" in flat, name
        assert "No clean return from Deborah Gillespie (missing)" in flat, name


# --- the Word paper ------------------------------------------------------------------


def test_the_word_paper_reads_back_section_by_section(paper: Paper, tmp_path: Path) -> None:
    path = write_docx(paper, tmp_path / "paper.docx")
    document = docx.Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    assert headings == [f"{n}. {title}" for n, title in enumerate(SECTIONS, start=1)]
    assert document.core_properties.title == paper.title
    # RAG by Big Action: the table, then the chart as a picture; the plan's life likewise.
    tables = document.tables
    status = next(t for t in tables if t.rows[0].cells[0].text == "Big Action")
    assert [[c.text for c in r.cells] for r in status.rows[1:]] == [[str(v) for v in r] for r in paper.status_rows]
    life = next(t for t in tables if t.rows[0].cells[0].text == "Cycle")
    assert [r.cells[0].text for r in life.rows[1:]] == ["2023-Q2", "2023-Q3"]
    assert len(document.inline_shapes) == 2
    with zipfile.ZipFile(path) as package:
        media = [n for n in package.namelist() if n.startswith("word/media/")]
        assert len(media) == 2 and all(package.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in media)
        body = package.read("word/document.xml").decode("utf-8")
    assert "hyperlink" not in body and "instrText" not in body  # text from returns is only text
    # A status cell is shaded in its template colour.
    red = next(c for r in status.rows[:1] for c in r.cells if c.text == "Red")
    assert 'w:fill="E0301E"' in red._tc.xml
    # Each exception: its heading, then its facts and the sponsor's notes in full.
    text = _docx_text(path)
    for a in paper.exceptions:
        assert a.heading in text
        assert f"{paper.recipient_label.capitalize()}: {a.sponsor}" in text
    assert "For the officer" not in text


def test_the_officers_word_paper_has_the_checks(paper: Paper, tmp_path: Path) -> None:
    text = _docx_text(write_docx(paper, tmp_path / "officer.docx", officer=True))
    assert "For the officer: checks before the paper goes to the SPG (for the officer, not for the SPG)" in text
    assert paper.checks[0].line in text


@pytest.mark.libreoffice
def test_the_word_paper_converts_to_pdf(paper: Paper, tmp_path: Path) -> None:
    pdf = convert(write_docx(paper, tmp_path / "paper.docx"), tmp_path / "pdf", "pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = words(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout)
    for n, title in enumerate(SECTIONS, start=1):
        assert f"{n}. {title}" in text
    for a in paper.exceptions:
        for note in a.notes:
            assert squashed(note.text) in squashed(text), a.ref
    assert "BA5.04 is Red (not updated: last reported Red in 2023-Q2 (1 cycle ago))" in text
    assert "No clean return from Deborah Gillespie (missing)" in text


def test_hostile_text_stays_text_in_the_word_paper(tmp_path: Path) -> None:
    hostile = build_hostile(tmp_path / "plan")
    path = write_docx(hostile.paper, tmp_path / "hostile.docx")
    text = _docx_text(path)
    assert f"BA1.01 is Red (new): Fix {HOSTILE}" in text
    assert HOSTILE_GROUP in text
    with zipfile.ZipFile(path) as package:
        body = package.read("word/document.xml").decode("utf-8")
    assert "<script>" not in body and "&lt;script&gt;" in body


def test_a_control_character_in_a_note_does_not_break_the_paper(paper: Paper, tmp_path: Path) -> None:
    from dataclasses import replace

    from xlplan.paper import Note

    first = paper.exceptions[0]
    broken = replace(first, notes=(Note("Progress this period", "Pasted\x0bfrom\x01a form"),))
    bad = replace(paper, exceptions=[broken, *paper.exceptions[1:]])
    text = _docx_text(write_docx(bad, tmp_path / "p.docx"))
    assert "Pastedfroma form" in text


# --- the command ---------------------------------------------------------------------


def test_report_docx_goes_into_the_plan_folder_by_default(demo: Path, tmp_path: Path) -> None:
    root = Path(shutil.copytree(demo, tmp_path / "demo"))
    result = CliRunner().invoke(main, ["--plan", str(root), "report", "--format", "docx"])
    assert result.exit_code == 0, result.output
    path = root / f"{CYCLE} SPG paper.docx"
    assert result.stdout == f"Wrote {path}\n"
    assert docx.Document(str(path)).paragraphs[0].text.endswith(f"progress report {CYCLE}")


def test_report_docx_to_a_file_and_json(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "spg.docx"
    runner = CliRunner()
    result = runner.invoke(main, ["--plan", str(demo), "report", "--format", "docx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and [p.name for p in tmp_path.iterdir()] == ["spg.docx"]
    result = runner.invoke(main, ["--plan", str(demo), "report", "--format", "json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["cycle"] == CYCLE and found["checks"] and found["exceptions"]
    assert [h["cycle"] for h in found["history"]] == ["2023-Q2", "2023-Q3"]
    officer = runner.invoke(main, ["--plan", str(demo), "report", "--for-officer"])
    assert "For the officer" in officer.stdout
    assert "For the officer" not in runner.invoke(main, ["--plan", str(demo), "report"]).stdout


# --- four quarters -------------------------------------------------------------------

Q2, Q3, Q4, Q1 = "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"
SPG = {Q2: date(2025, 7, 3), Q3: date(2025, 10, 2), Q4: date(2026, 1, 8), Q1: date(2026, 4, 2)}
LONG_NOTE = (
    "The supplier went into administration in January.\n"
    "- A new tender was issued on 3 March;\n"
    "# installs stop until a contract is let.\n\n"
    "Households waiting: 112."
)
QUARTERS: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    Q2: {
        HELEN: {
            "BA1.01": {"progress": "Recruitment stalled: two posts vacant", "rag": "Red", "comments": "Agency cover"},
            "BA1.02": {"progress": "All six locality plans published", "rag": "Blue"},
            "BA1.03": {"progress": "Survey in the field", "rag": "Green", "actual": 86},
        },
        SHARON: {"BA3.01": {"progress": "Strategy drafted", "rag": "Green"}},
        ALLEN: {
            "BA3.01": {"progress": "Consultation on track", "rag": "Green"},
            "BA3.02": {"progress": "Health staff trained on schedule", "rag": "Green", "actual": 400},
            "BA4.01": {"progress": "Supplier delays", "rag": "Amber", "actual": 870},
        },
    },
    Q3: {
        SHARON: {"BA3.01": {"progress": "Strategy agreed", "rag": "Green"}},
        ALLEN: {
            "BA3.02": {"progress": "On schedule", "rag": "Green", "actual": 410},
            "BA4.01": {"progress": "Delays continue", "rag": "Amber", "revised_due": date(2026, 3, 31)},
        },
    },
    Q4: {
        ALLEN: {
            "BA3.01": {"progress": "Action plan being implemented", "rag": "Green"},
            "BA4.01": {"progress": "Installs resumed", "rag": "Green", "actual": 890},
        },
    },
    Q1: {
        ALLEN: {
            "BA3.02": {"progress": "Complete: 412 staff trained", "rag": "Blue", "actual": 412},
            "BA4.01": {
                "progress": LONG_NOTE,
                "rag": "Red",
                "revised_due": date(2026, 9, 30),
                "comments": "Risk: people wait longer for a community alarm.",
            },
        },
    },
}
FEEDBACK = {Q1: {ALLEN: {BA3: {"feedback": "Staff said the training was practical", "case_study": "Mrs K, 80"}}}}


@pytest.fixture(scope="module")
def four_quarters(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """Helen replies only in the first quarter: her Red BA1.01 is carried forward three times."""
    root = tmp_path_factory.mktemp("paper-over-time") / "plan"
    plan = load_plan(make_plan_folder(root))
    for cycle in (Q2, Q3, Q4, Q1):
        gen = generate(plan, cycle, spg_date=SPG[cycle], deadline=None)
        for who, values in QUARTERS[cycle].items():
            src = plan.folder.outgoing_dir(cycle) / f"{cycle} return - {who}.xlsx"
            groups = FEEDBACK.get(cycle, {}).get(who)
            fill_return(src, plan.folder.returns_dir / f"{who.split()[0]} {cycle}.xlsx", plan.template, values, groups)
        assert gen.deadline is not None
        assert collect(plan, cycle=cycle, today=gen.deadline).ok
    return plan


@pytest.fixture(scope="module")
def q1_paper(four_quarters: Plan) -> Paper:
    with Ledger(four_quarters.folder.ledger_file) as ledger:
        return build_paper(four_quarters, ledger, Q1, SPG[Q1])


def test_four_quarters_history_is_each_cycles_standing(four_quarters: Plan, q1_paper: Paper) -> None:
    assert [c for c, _ in q1_paper.history] == [Q2, Q3, Q4, Q1]
    with Ledger(four_quarters.folder.ledger_file) as ledger:
        for cycle, counts in q1_paper.history:
            statuses = [s.status or "" for s in picture(four_quarters, ledger, cycle).now.values()]
            assert counts == {s: statuses.count(s) for s in set(statuses)}, cycle
        assert status_history(picture(four_quarters, ledger, Q3)) == q1_paper.history[:2]
    # BA1.01 is Red in every quarter (reported once, then carried forward); BA4.01 Amber, Amber, Green, Red.
    assert [counts.get("Red", 0) for _, counts in q1_paper.history] == [1, 1, 1, 2]
    assert [counts.get("Blue", 0) for _, counts in q1_paper.history] == [1, 1, 1, 2]


def test_four_quarters_exceptions(q1_paper: Paper) -> None:
    by_ref = {a.ref: a for a in q1_paper.exceptions}
    assert set(by_ref) == {"BA1.01", "BA4.01"}
    helen = by_ref["BA1.01"]
    assert (helen.status, helen.carried, helen.cycles_at, helen.since) == ("Red", True, 4, Q2)
    assert helen.standing == f"not updated: last reported Red in {Q2} (3 cycles ago)"
    assert [(n.header, n.text) for n in helen.notes] == [
        ("Progress this period", "Recruitment stalled: two posts vacant"),
        ("Comments / risks", "Agency cover"),
    ]
    allen = by_ref["BA4.01"]
    assert (allen.status, allen.last_status, allen.movement, allen.cycles_at, allen.since) == (
        "Red",
        "Green",
        "worsened",
        1,
        Q1,
    )
    assert (allen.due, allen.revised_due) == ("2025-09-30", "2026-09-30")
    assert allen.notes[0].text == LONG_NOTE
    assert [(c.ref, c.proposed, c.earlier) for c in q1_paper.decisions_needed] == [
        ("BA4.01", date(2026, 9, 30), date(2026, 3, 31))
    ]
    assert [a.ref for a in q1_paper.completed] == ["BA3.02"]
    assert [(g.group, [who for who, _ in g.entries]) for g in q1_paper.feedback] == [(BA3, [ALLEN])]
    assert BA1 not in [g.group for g in q1_paper.feedback]


def test_four_quarters_each_exception_carries_its_history(q1_paper: Paper) -> None:
    """Per action: the status reported at each cycle since its first report ("" when nobody
    reported it), shown in every format as one line."""
    by_ref = {a.ref: a for a in q1_paper.exceptions}
    assert by_ref["BA1.01"].history == ((Q2, "Red"), (Q3, ""), (Q4, ""), (Q1, ""))
    assert by_ref["BA4.01"].history == ((Q2, "Amber"), (Q3, "Amber"), (Q4, "Green"), (Q1, "Red"))
    line = f"{Q2} Amber, {Q3} Amber, {Q4} Green, {Q1} Red"
    assert by_ref["BA4.01"].history_line == line
    assert by_ref["BA1.01"].history_line == f"{Q2} Red, {Q3} not updated, {Q4} not updated, {Q1} not updated"
    for fmt in (to_text, to_markdown, to_html):
        assert line in fmt(q1_paper), fmt.__name__


def test_four_quarters_formats_keep_a_long_note_whole_and_inert(q1_paper: Paper) -> None:
    text = to_text(q1_paper)
    assert "\n".join(f"    {line}" for line in LONG_NOTE.splitlines()) in text
    md = to_markdown(q1_paper)
    # Each line of the note stays in one paragraph: no list, no heading made of it.
    assert "\\- A new tender was issued on 3 March;\\\n\\# installs stop until a contract is let." in md
    page = to_html(q1_paper)
    assert LONG_NOTE in "".join(Html(page).text)


@pytest.mark.libreoffice
def test_four_quarters_word_paper_to_pdf(q1_paper: Paper, tmp_path: Path) -> None:
    path = write_docx(q1_paper, tmp_path / "q1.docx")
    document = docx.Document(str(path))
    life = next(t for t in document.tables if t.rows[0].cells[0].text == "Cycle")
    assert [r.cells[0].text for r in life.rows[1:]] == [Q2, Q3, Q4, Q1]
    pdf = convert(path, tmp_path / "pdf", "pdf")
    text = words(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout)
    assert f"BA1.01 is Red (not updated: last reported Red in {Q2} (3 cycles ago))" in text
    assert "4 cycles (since 2025-Q2)" in text
    assert squashed(LONG_NOTE) in squashed(text)
    assert "Staff said the training was practical" in text and "Mrs K, 80" in text
    assert "2026-09-30" in text


def test_outcomes_and_decisions_taken_show_when_provided(plan: Plan, tmp_path: Path) -> None:
    """Progress by National Health and Wellbeing Outcome (`Summary.outcomes`) shows when the
    summary has it; the SPG's decisions taken this cycle (the plan's Decisions sheet) show,
    and a proposed date the SPG decided on is no longer a decision needed."""
    import copy
    from datetime import timedelta

    from xlplan.decisions import APPROVE, Decision
    from xlplan.summary import summarise

    outcome = "Outcome 9: Resources are used effectively & efficiently"
    decided = copy.copy(plan)
    # Dated after the demo's cycles were generated: taken in the latest, 2023-Q3.
    when = date.today() + timedelta(days=1)
    decided.decisions = [Decision(when, "BA2.03", APPROVE, date(2024, 6, 30), "SPG minute 4.1", 2)]
    with Ledger(plan.folder.ledger_file) as ledger:
        summary = summarise(plan, ledger, CYCLE, TODAY)
        summary.outcomes = {outcome: {"Red": 1, "Green": 2, "": 1}}
        found = build_paper(decided, ledger, CYCLE, TODAY, summary)
        before = build_paper(plan, ledger, CYCLE, TODAY)
    assert found.outcomes is not None and found.outcomes.rows == [[outcome, "1", "0", "2", "0", "0", "1", "4"]]
    assert found.decisions_taken is not None
    assert found.decisions_taken.rows == [
        [when.isoformat(), "BA2.03", APPROVE, "2024-06-30", "SPG minute 4.1", plan.by_ref["BA2.03"]["action"]]
    ]
    assert "BA2.03" in [c.ref for c in before.decisions_needed]
    assert [c.ref for c in found.decisions_needed] == [c.ref for c in before.decisions_needed if c.ref != "BA2.03"]
    text = to_text(found)
    assert "Progress by National Health and Wellbeing Outcome" in text and outcome in text
    assert "Decisions taken" in text and "SPG minute 4.1" in text
    document = docx.Document(str(write_docx(found, tmp_path / "p.docx")))
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    assert "9. Decisions taken" in headings
    assert headings[-1] == "12. Progress by National Health and Wellbeing Outcome"
