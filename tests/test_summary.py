"""Where a cycle stands: `summarise`, its text/Markdown/HTML renderings, `xlplan status` and `xlplan report`.

Most tests read the demo's plan folder (the bundled sample, two cycles collected; in 2023-Q3
Charlene Elliot's return is quarantined and Deborah Gillespie's is missing). Expected numbers
are recomputed from the ledger, not copied from the code under test.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ACTIONS, SETTINGS, demo_copy, make_plan_folder

from xlplan.cli import main
from xlplan.collect import collect
from xlplan.generate import generate
from xlplan.ledger import Ledger
from xlplan.paper import Paper, build_paper
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.report import to_html, to_markdown, to_text
from xlplan.samples.sponsor import fill_return
from xlplan.summary import Summary, deadline_words, status_table, summarise

CYCLE = "2023-Q3"
TODAY = date(2023, 9, 20)  # six days after the sample's 2023-Q3 deadline
DEADLINE = date(2023, 9, 14)
TITLE = "Inverclyde HSCP Strategic Plan 2019-2024"
RAG = ["Red", "Amber", "Green", "Grey", "Blue"]
STATES = {
    "Helen Watson": "merged",
    "Sharon McAlees": "merged",
    "Allen Stevenson": "merged",
    "Deborah Gillespie": "missing",
    "Charlene Elliot": "quarantined",
}
HOSTILE = '<script>alert(1)</script> & "quotes"'
HOSTILE_GROUP = 'Big Action 1: <b>bold</b> & "pipes" | here'
HOSTILE_TITLE = 'Plan <i>x</i> & "y"'
HOSTILE_RAG = "<script>alert(3)</script>"  # not a RAG status: Allen Stevenson's return is quarantined


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(built_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the demo plan folder: tests that write into it copy it again."""
    return demo_copy(built_demo, tmp_path_factory, "summary")


@pytest.fixture(scope="module")
def plan(demo: Path) -> Plan:
    return load_plan(PlanFolder(demo))


@pytest.fixture(scope="module")
def summary(plan: Plan) -> Summary:
    with Ledger(plan.folder.ledger_file) as ledger:
        return summarise(plan, ledger, CYCLE, TODAY)


@pytest.fixture(scope="module")
def paper(plan: Plan) -> Paper:
    with Ledger(plan.folder.ledger_file) as ledger:
        return build_paper(plan, ledger, CYCLE, TODAY)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def copy_of(demo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(demo, target)
    return target


def rag_by_ref(plan: Plan, cycle: str) -> dict[str, str]:
    """Each action's RAG status at a cycle, recomputed straight from the ledger's entries: the
    most severe its sponsors reported that cycle, else carried from the last cycle anyone
    reported it ("" when nobody ever has)."""
    out: dict[str, str] = {}
    with Ledger(plan.folder.ledger_file) as ledger:
        for c in sorted(c for c in ledger.cycles() if c <= cycle):
            said: dict[str, list[str]] = {}
            for (_who, ref), fields in ledger.entries(c, "Actions").items():
                if fields.get("rag"):
                    said.setdefault(ref, []).append(fields["rag"])
            out |= {ref: min(rags, key=RAG.index) for ref, rags in said.items()}
    return {item["ref"]: out.get(item["ref"], "") for item in plan.items}


@dataclass
class Hostile:
    plan: Plan
    summary: Summary
    paper: Paper


def build_hostile(root: Path) -> Hostile:
    """A plan whose title, Big Action and action text are hostile HTML, with one merged return.

    Helen Watson returns BA1.01 as Red (with a hostile progress note), so the hostile action
    text reaches the Red/Amber and overdue lists; Allen Stevenson's return is quarantined
    for a hostile RAG value; Sharon McAlees sends nothing. The master tracker is rendered.
    """
    actions = [dict(a) for a in ACTIONS]
    actions[0]["action"] = f"Fix {HOSTILE}"
    for a in actions[:3]:
        a["big_action"] = HOSTILE_GROUP
    folder = make_plan_folder(root, actions=actions, settings=dict(SETTINGS, title=HOSTILE_TITLE))
    plan = load_plan(folder)
    gen = generate(plan, "2025-Q3", spg_date=date(2025, 10, 2), deadline=None)
    helen = next(p for who, p, _ in gen.files if who == "Helen Watson")
    fill_return(
        helen,
        folder.returns_dir / "helen.xlsx",
        plan.template,
        {
            "BA1.01": {"rag": "Red", "progress": f"Stalled {HOSTILE}", "comments": HOSTILE},
            "BA1.02": {"rag": "Blue", "progress": "Published in May"},
            "BA1.03": {"rag": "Green", "progress": "On track"},
        },
        {HOSTILE_GROUP: {"feedback": HOSTILE, "case_study": HOSTILE}},
    )
    allen = next(p for who, p, _ in gen.files if who == "Allen Stevenson")
    fill_return(
        allen,
        folder.returns_dir / "allen.xlsx",
        plan.template,
        {
            "BA3.01": {"rag": "Green", "progress": "Drafted"},
            "BA3.02": {"rag": "Green", "progress": "On track"},
            "BA4.01": {"rag": HOSTILE_RAG, "progress": HOSTILE},
        },
    )
    result = collect(plan, today=date(2025, 9, 12))
    outcomes = {o.path.name: o.status for o in result.outcomes}
    assert outcomes == {"helen.xlsx": "merged", "allen.xlsx": "quarantined"}, [o.as_dict() for o in result.outcomes]
    with Ledger(folder.ledger_file) as ledger:
        s = summarise(plan, ledger, "2025-Q3", date(2025, 9, 12))
        return Hostile(plan, s, build_paper(plan, ledger, "2025-Q3", date(2025, 9, 12)))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    return build_hostile(tmp_path_factory.mktemp("hostile") / "plan")


class Html(HTMLParser):
    """Tags seen, table cells (tag, style, text) per row, and all text, as a browser would parse it."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.rows: list[list[tuple[str, str, str]]] = []
        self.text: list[str] = []
        self._cell: list[Any] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = [tag, dict(attrs).get("style") or "", ""]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(tuple(self._cell))  # type: ignore[arg-type]
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell[2] += data


def style_of(style: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, v in (p.split(":", 1) for p in style.split(";") if ":" in p)}


# --- summarise -----------------------------------------------------------------------


def test_counts_per_big_action_match_the_ledger(plan: Plan, summary: Summary) -> None:
    rag = rag_by_ref(plan, CYCLE)
    expected: dict[str, dict[str, int]] = {}
    for item in plan.items:
        per = expected.setdefault(item["big_action"], {})
        per[rag[item["ref"]]] = per.get(rag[item["ref"]], 0) + 1
    assert summary.groups == list(expected)  # in plan order
    assert summary.counts == expected
    assert len(summary.groups) == 6


def test_totals_of_the_sample(plan: Plan, summary: Summary) -> None:
    rag = list(rag_by_ref(plan, CYCLE).values())
    totals = {s: rag.count(s) for s in [*RAG, ""]}
    # The sample's 2023-Q3, recomputed from the ledger above and pinned here. Deborah
    # Gillespie sent nothing and Charlene Elliot's return is quarantined: their 13 actions
    # keep their 2023-Q2 statuses (BA5.04 Red; BA5.02, BA5.07, BA6.02 Amber), carried forward.
    assert totals == {"Red": 4, "Amber": 7, "Green": 18, "Grey": 1, "Blue": 12, "": 0}
    # Not updated: their 13 less the 3 complete (Blue) ones, which are not asked for again.
    assert sum(summary.carried.values()) == 10
    assert {k: v for k, v in summary.totals.items() if v} == {k: v for k, v in totals.items() if v}
    assert sum(summary.totals.values()) == len(plan.items) == 42


def test_previous_counts_are_last_cycles(plan: Plan, summary: Summary) -> None:
    rag = list(rag_by_ref(plan, "2023-Q2").values())
    expected = {s: rag.count(s) for s in set(rag)}
    assert summary.previous_cycle == "2023-Q2"
    assert summary.previous_counts == expected
    assert sum(expected.values()) == len(plan.items)


def test_cycle_facts(summary: Summary) -> None:
    assert summary.plan_title == TITLE
    assert summary.cycle == CYCLE
    assert summary.deadline == DEADLINE
    assert summary.spg_date == date(2023, 10, 5)
    assert summary.today == TODAY
    assert summary.days_to_deadline == -6
    assert summary.statuses == RAG
    assert summary.colours["Red"] == ("#E0301E", "#FFFFFF")
    assert summary.colours["Amber"] == ("#FFBF00", "#000000")
    assert set(summary.colours) == set(RAG)


def test_recipient_states(plan: Plan, summary: Summary) -> None:
    states = {r.recipient: r.state for r in summary.recipients}
    assert states == STATES
    assert [r.recipient for r in summary.recipients] == [r.name for r in plan.recipients]
    for r in summary.recipients:
        assert r.items == len(plan.items_for(r.recipient))
        assert r.email == plan.recipient(r.recipient).email
    (charlene,) = [r for r in summary.recipients if r.state == "quarantined"]
    assert (charlene.recipient, charlene.file, charlene.errors) == ("Charlene Elliot", "CVS return 2023-Q3.xlsx", 2)
    (deborah,) = [r for r in summary.recipients if r.state == "missing"]
    assert (deborah.recipient, deborah.file, deborah.received, deborah.errors) == ("Deborah Gillespie", "", "", 0)
    merged = [r for r in summary.recipients if r.state == "merged"]
    assert all(r.file and r.received and r.errors == 0 for r in merged)
    assert (summary.count("merged"), summary.count("quarantined"), summary.count("missing")) == (3, 1, 1)


def test_gaps_name_the_same_sponsors_as_the_recipients(summary: Summary) -> None:
    assert summary.gaps is not None
    assert {(m.recipient, m.outcome) for m in summary.gaps.missing_returns} == {
        ("Charlene Elliot", "quarantined"),
        ("Deborah Gillespie", "missing"),
    }
    assert all(m.days_to_deadline == -6 for m in summary.gaps.missing_returns)
    assert {g.status for g in summary.gaps.attention} == {"Red", "Amber"}
    assert len(summary.gaps.attention) == summary.totals["Red"] + summary.totals["Amber"]


def test_previous_cycle_all_merged(plan: Plan) -> None:
    with Ledger(plan.folder.ledger_file) as ledger:
        q2 = summarise(plan, ledger, "2023-Q2", TODAY)
    assert {r.state for r in q2.recipients} == {"merged"}
    assert q2.previous_cycle is None
    assert q2.gaps is not None and q2.gaps.missing_returns == []


def test_a_cycle_with_nothing_back(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    plan = load_plan(folder)
    generate(plan, "2025-Q3", spg_date=date(2025, 10, 2), deadline=None)
    with Ledger(folder.ledger_file) as ledger:
        s = summarise(plan, ledger, "2025-Q3", date(2025, 9, 1))
        paper = build_paper(plan, ledger, "2025-Q3", date(2025, 9, 1))
    assert {r.state for r in s.recipients} == {"missing"}
    assert s.totals == {"": len(ACTIONS)}
    assert s.previous_cycle is None and s.previous_counts == {"": len(ACTIONS)}
    assert s.days_to_deadline == 10
    _header, rows = status_table(s)
    assert rows[-1] == ["Total", 0, 0, 0, 0, 0, len(ACTIONS), len(ACTIONS)]
    assert "Returns: 0 of 3 received and merged; 10 days to the deadline (11 September 2025)." in to_markdown(paper)


def test_reissuing_one_workbook_keeps_the_other_sponsors_expected(demo: Path, tmp_path: Path) -> None:
    plan = load_plan(PlanFolder(copy_of(demo, tmp_path)))
    # Deborah lost her workbook: the officer sends it again, same cycle and SPG date.
    generate(plan, CYCLE, spg_date=date(2023, 10, 5), deadline=None, only=["Deborah Gillespie"])
    with Ledger(plan.folder.ledger_file) as ledger:
        s = summarise(plan, ledger, CYCLE, TODAY)
    assert {r.recipient: r.state for r in s.recipients} == STATES
    assert s.gaps is not None
    assert {m.recipient for m in s.gaps.missing_returns} == {"Charlene Elliot", "Deborah Gillespie"}


def test_status_and_gaps_agree_on_who_is_expected(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    plan = load_plan(folder)
    generate(plan, "2025-Q3", spg_date=date(2025, 10, 2), deadline=None, only=["Sharon McAlees"])
    with Ledger(folder.ledger_file) as ledger:
        s = summarise(plan, ledger, "2025-Q3", date(2025, 9, 1))
    assert s.gaps is not None
    outstanding = {r.recipient for r in s.recipients if r.state != "merged"}
    assert outstanding == {m.recipient for m in s.gaps.missing_returns}


# --- the table and its renderings ----------------------------------------------------


def test_status_table(plan: Plan, summary: Summary) -> None:
    header, rows = status_table(summary)
    assert header == ["Big Action", *RAG, "No update", "Total"]
    assert [r[0] for r in rows] == [*summary.groups, "Total"]
    for row in rows[:-1]:
        in_group = [i for i in plan.items if i["big_action"] == row[0]]
        assert row[-1] == len(in_group) == sum(row[1:-1])
    assert rows[-1] == ["Total", 4, 7, 18, 1, 12, 0, 42]
    assert [sum(r[i] for r in rows[:-1]) for i in range(1, len(header))] == rows[-1][1:]


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (2, "2 days to the deadline"),
        (1, "1 day to the deadline"),
        (0, "the deadline is today"),
        (-1, "1 day past the deadline"),
        (-6, "6 days past the deadline"),
    ],
)
def test_deadline_words(days: int, words: str) -> None:
    assert deadline_words(days) == words


def test_to_markdown(summary: Summary, paper: Paper) -> None:
    md = to_markdown(paper)
    lines = md.splitlines()
    assert lines[0] == f"# {TITLE}: progress report {CYCLE}"
    assert "Returns: 3 of 5 received and merged; 6 days past the deadline (14 September 2023)." in lines
    head = lines.index("| Big Action | Red | Amber | Green | Grey | Blue | No update | Total |")
    assert lines[head + 1] == "|---|---|---|---|---|---|---|---|"
    _header, rows = status_table(summary)
    table = lines[head + 2 : head + 2 + len(rows)]
    assert table == ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    assert table[-1] == "| Total | 4 | 7 | 18 | 1 | 12 | 0 | 42 |"
    assert "| Deborah Gillespie | missing |  |" in lines
    assert "| Charlene Elliot | quarantined | CVS return 2023-Q3.xlsx |" in lines
    assert "## Red and Amber" in lines
    assert summary.gaps is not None
    for g in summary.gaps.attention:
        assert any(line.startswith(f"| {g.ref} | {g.status} | ") for line in lines)
    assert f"Overdue actions: {', '.join(g.ref for g in summary.gaps.overdue)}." in lines
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_to_text(summary: Summary, paper: Paper) -> None:
    text = to_text(paper)
    lines = text.splitlines()
    assert lines[:3] == [
        f"{TITLE}: progress report {CYCLE}",
        "Returns: 3 of 5 received and merged; 6 days past the deadline (14 September 2023).",
        "",
    ]
    _header, rows = status_table(summary)
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["Big", "Action"])
    table = lines[start : start + 1 + len(rows)]
    assert table[0].split() == ["Big", "Action", *RAG, "No", "update", "Total"]
    assert table[-1].split() == ["Total", "4", "7", "18", "1", "12", "0", "42"]
    assert len({len(line) for line in table}) == 1  # columns line up
    width = max(len(str(row[0])) for row in rows)
    assert width > 40  # the sample's Big Action names are long ...
    for line, row in zip(table[1:], rows, strict=True):
        assert line.startswith(str(row[0]))  # ... and given in full (issue 19: they were cut at 40)
        assert line[width:].split() == [str(v) for v in row[1:]]
    # The plain text has the lists the other formats have (issue 19: it had only the table).
    assert summary.gaps is not None
    for g in summary.gaps.attention:
        assert any(line.startswith(f"{g.ref} is {g.status} (") for line in lines), g.ref
    assert "- No clean return from Deborah Gillespie (missing)" in lines
    assert f"Overdue actions: {', '.join(g.ref for g in summary.gaps.overdue)}." in lines


def test_to_html(summary: Summary, paper: Paper) -> None:
    page = to_html(paper)
    assert page.startswith("<!DOCTYPE html>")
    parsed = Html(page)
    header, rows = status_table(summary)
    table = parsed.rows[: 1 + len(rows)]  # the first table: status by Big Action
    assert [c[2] for c in table[0]] == header
    assert all(c[0] == "th" for c in table[0])
    by_name = {c[2]: style_of(c[1]) for c in table[0]}
    for status, (fill, font) in summary.colours.items():
        assert by_name[status]["background"] == fill
        assert by_name[status]["color"] == font
    assert by_name["Red"]["background"] == "#E0301E"
    assert [[c[2] for c in r] for r in table[1:]] == [[str(v) for v in row] for row in rows]
    text = " ".join("".join(parsed.text).split())
    assert "Returns: 3 of 5 received and merged; 6 days past the deadline (14 September 2023)." in text
    assert "No clean return from Charlene Elliot (quarantined)" in text
    assert "No clean return from Deborah Gillespie (missing)" in text
    # "Children & Young People" in a Big Action is escaped, and reads back as written.
    assert "Children &amp; Young People" in page
    assert "Children & Young People" in text


def test_long_gap_lists_stop_at_listed_and_point_to_the_master(
    summary: Summary, paper: Paper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At national scale thousands of actions are Red, Amber or overdue: a report (and the
    SPG's email) lists the first and says where the master tracker lists them all."""
    import xlplan.report as module

    # The sample has one overdue action (completed ones never are): its list is cut at 0.
    assert summary.gaps is not None and len(summary.gaps.attention) > 2 and len(summary.gaps.overdue) == 1
    monkeypatch.setattr(module, "LISTED", 2)
    attention, overdue = summary.gaps.attention, summary.gaps.overdue
    lines = to_markdown(paper).splitlines()
    head = lines.index("| Ref | Status | Last cycle | Movement | Action |")
    assert lines[head + 2 : head + 6] == [
        *(f"| {g.ref} | {g.status} | {g.last_status or ''} | {g.movement} | {g.action} |" for g in attention[:2]),
        "",
        f"... and {len(attention) - 2} more: the Risk register sheet of the master tracker lists them all.",
    ]
    monkeypatch.setattr(module, "LISTED", 0)
    assert f"Overdue actions: {len(overdue)} more." in to_markdown(paper).splitlines() or any(
        line.startswith("Overdue actions:") and f"{len(overdue)} more" in line
        for line in to_markdown(paper).splitlines()
    )
    monkeypatch.setattr(module, "LISTED", 2)
    text = " ".join("".join(Html(to_html(paper)).text).split())
    assert f"{attention[1].ref} is {attention[1].status}" in text and f"{attention[2].ref} is " not in text
    assert f"... and {len(attention) - 2} more: the Risk register sheet of the master tracker lists them all." in text
    monkeypatch.setattr(module, "LISTED", 0)
    text = " ".join("".join(Html(to_html(paper)).text).split())
    assert f"... and {len(overdue)} more: the Gaps sheet of the master tracker lists them all." in text


def test_to_html_embedded_is_a_fragment(paper: Paper) -> None:
    fragment = to_html(paper, standalone=False)
    assert "<html" not in fragment and "<!DOCTYPE" not in fragment
    assert fragment in to_html(paper)


# --- hostile text from plans and returns ---------------------------------------------


def test_html_escapes_text_from_plans_and_returns(hostile: Hostile) -> None:
    s = hostile.summary
    assert s.gaps is not None
    assert [(g.ref, g.status) for g in s.gaps.attention] == [("BA1.01", "Red")]
    assert {r.recipient: r.state for r in s.recipients} == {
        "Helen Watson": "merged",
        "Sharon McAlees": "missing",
        "Allen Stevenson": "quarantined",
    }
    page = to_html(hostile.paper)
    for raw in ("<script", "</script>", "<b>", "<i>", '& "', '"quotes"'):
        assert raw not in page
    assert "Fix &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in page
    parsed = Html(page)
    assert not {"script", "b", "i"} & set(parsed.tags)
    text = "".join(parsed.text)
    # A browser shows exactly what was typed.
    assert f"BA1.01 is Red (new): Fix {HOSTILE}" in text
    assert f"BA1.01 is overdue (due 2024-03-31): Fix {HOSTILE}" in text
    assert HOSTILE_GROUP in text
    assert f"{HOSTILE_TITLE}: progress report 2025-Q3" in text
    assert parsed.rows[1][0][2] == HOSTILE_GROUP


def test_markdown_and_text_keep_hostile_text_in_its_cell(hostile: Hostile) -> None:
    md = to_markdown(hostile.paper)
    # < and > are escaped (Markdown renderers pass raw HTML through); & and quotes stay readable.
    assert '| Big Action 1: &lt;b&gt;bold&lt;/b&gt; & "pipes" \\| here | 1 | 0 | 1 | 0 | 1 | 0 | 3 |' in md.splitlines()
    assert "<script>" not in md and "<b>" not in md
    row = next(line for line in md.splitlines() if line.startswith("| BA1.01 |"))
    assert row == f"| BA1.01 | Red |  | new | Fix {HOSTILE.replace('<', '&lt;').replace('>', '&gt;')} |"
    text = to_text(hostile.paper)
    assert HOSTILE_GROUP in text  # in full, as typed
    assert f"BA1.01 is Red (new): Fix {HOSTILE}" in text.splitlines()


# --- the commands --------------------------------------------------------------------


def test_status_command(runner: CliRunner, demo: Path) -> None:
    result = runner.invoke(main, ["--plan", str(demo), "status"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{TITLE}: cycle {CYCLE}"
    assert lines[-1] == "Expected 5, received 4, merged 3, quarantined 1, missing 1."
    words = deadline_words((DEADLINE - date.today()).days)
    flat = " ".join(result.stdout.split())
    assert re.search(rf"Deadline Thursday 14 September 2023 \({words}\), SPG meets 0?5 October 2023\.", flat), flat
    assert result.stderr == ""


def test_status_command_table(runner: CliRunner, demo: Path) -> None:
    result = runner.invoke(main, ["--plan", str(demo), "status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells and cells[0] in STATES:
            rows[cells[0]] = cells
    assert {name: cells[2] for name, cells in rows.items()} == STATES
    assert rows["Charlene Elliot"] == ["Charlene Elliot", "6", "quarantined", "CVS return 2023-Q3.xlsx", "2", "0"]
    assert rows["Deborah Gillespie"] == ["Deborah Gillespie", "7", "missing", "", "0", "0"]


def test_status_of_an_earlier_cycle(runner: CliRunner, demo: Path) -> None:
    result = runner.invoke(main, ["--plan", str(demo), "status", "--cycle", "2023-Q2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Expected 5, received 5, merged 5, quarantined 0, missing 0."


def test_status_before_any_cycle(runner: CliRunner, plan_folder: PlanFolder) -> None:
    result = runner.invoke(main, ["--plan", str(plan_folder.root), "status"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: No cycle has been generated yet")
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["status", "report"])
@pytest.mark.parametrize("cycle", ["2024-Q1", "2023-q3"])
def test_a_cycle_never_generated_is_an_error(runner: CliRunner, demo: Path, command: str, cycle: str) -> None:
    result = runner.invoke(main, ["--plan", str(demo), command, "--cycle", cycle])
    assert result.exit_code == 1
    assert result.stderr == f"Error: Cycle {cycle} has not been generated (known cycles: 2023-Q2, 2023-Q3).\n"
    assert result.stdout == ""


def test_report_text_on_the_console(runner: CliRunner, demo: Path, plan: Plan) -> None:
    result = runner.invoke(main, ["--plan", str(demo), "report"])
    assert result.exit_code == 0, result.output
    with Ledger(plan.folder.ledger_file) as ledger:
        assert result.stdout == to_text(build_paper(plan, ledger, CYCLE, date.today()))


def test_report_markdown_to_a_file(runner: CliRunner, demo: Path, plan: Plan, tmp_path: Path) -> None:
    out = tmp_path / "out.md"
    result = runner.invoke(main, ["--plan", str(demo), "report", "--format", "markdown", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Wrote {out}\n"
    with Ledger(plan.folder.ledger_file) as ledger:
        assert out.read_text(encoding="utf-8") == to_markdown(build_paper(plan, ledger, CYCLE, date.today()))
    assert "| Total | 4 | 7 | 18 | 1 | 12 | 0 | 42 |" in out.read_text(encoding="utf-8").splitlines()
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]  # no temporary file left behind


def test_report_html_to_a_file(runner: CliRunner, demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(main, ["--plan", str(demo), "report", "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Wrote {out}\n"
    parsed = Html(out.read_text(encoding="utf-8"))
    heads = {c[2]: style_of(c[1]) for c in parsed.rows[0] if c[0] == "th"}
    assert heads["Red"]["background"] == "#E0301E"
    total = next(r for r in parsed.rows if r and r[0][2] == "Total")  # the status table's, the first
    assert [c[2] for c in total] == ["Total", "4", "7", "18", "1", "12", "0", "42"]
    assert "title" in parsed.tags


def test_report_of_an_earlier_cycle(runner: CliRunner, demo: Path) -> None:
    result = runner.invoke(main, ["--plan", str(demo), "report", "--cycle", "2023-Q2", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"# {TITLE}: progress report 2023-Q2\n")
    assert "Returns: 5 of 5 received and merged" in result.stdout


def test_report_unknown_format(runner: CliRunner, demo: Path) -> None:
    result = runner.invoke(main, ["--plan", str(demo), "report", "--format", "pdf"])
    assert result.exit_code == 2
    assert "'pdf' is not one of" in result.stderr
