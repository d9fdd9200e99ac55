"""A second kind of return, the self-evaluation, through the same code as the implementation plan.

The self-evaluation template (templates/self-evaluation.yaml) uses only declared
features any template can use: `assign_by: all`, `locked_rows` on the rows sheet
(with its derived `blank_when` checks) and a `distribution` summary. The sample
(samples/self-evaluation/) is Falkirk IJB's self-evaluation against the Ministerial
Strategic Group's proposals, with eight illustrative respondents.

Layout of a generated self-evaluation return: header on row 4, proposals from row 5
in plan order (3.1 row 5, 3.2 row 6, ..., 5.3 row 11, ..., 6.3 row 14); columns
A Ref .. H Local completion are locked, I Our rating, J Evidence / notes and
K Proposed improvement actions are editable. 3.2 and 5.3 are "not for local completion".
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from conftest import make_plan_folder
from helpers import CLEAN
from helpers import CYCLE as IP_CYCLE
from helpers import SPG as IP_SPG
from libreoffice import edit_and_save
from xlsxwriter.utility import xl_col_to_name

from xlplan.cli import main
from xlplan.collect import Collected, collect
from xlplan.errors import TemplateError
from xlplan.gaps import find_gaps
from xlplan.generate import generate
from xlplan.ledger import Ledger
from xlplan.look import EDIT_FILL, OFF_FILL
from xlplan.merge import Outcome
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.ratings import (
    ItemRatings,
    Ratings,
    distribution,
    flags_for,
    median_level,
    modal_levels,
    to_html,
    to_markdown,
    to_text,
)
from xlplan.samples.build import SAMPLES, load_sources, write_sample_plan
from xlplan.samples.sponsor import fill_return
from xlplan.summary import summarise
from xlplan.template import DistributionSummary, SplitFlag
from xlplan.template_load import load_template, parse_template

SAMPLE = SAMPLES["self-evaluation"]
CYCLE = "2019-05"
SESSION = date(2019, 5, 10)  # the development session: returns due three weeks before
TODAY = date(2019, 4, 25)
LEVELS = ["Not yet established", "Partly established", "Established", "Exemplary"]
NOTE = "Not for local completion: national bodies are responsible."
LOCKED_REFS = {"3.2", "5.3"}
FIRST_ROW = 5
MISSING = "Iain McLeod"  # sends nothing in the sample


# --- fixtures and helpers -------------------------------------------------------------


@dataclass
class SelfEval:
    folder: PlanFolder
    plan: Plan
    returns: dict[str, dict[str, Any]]  # the sample's returns.yaml for CYCLE

    def outgoing(self, who: str) -> Path:
        return self.folder.outgoing_dir(CYCLE) / f"{CYCLE} return - {who}.xlsx"

    def fill(self, who: str, rows: dict[str, dict[str, Any]], name: str | None = None) -> Path:
        dst = self.folder.returns_dir / (name or f"{who}.xlsx")
        fill_return(self.outgoing(who), dst, self.plan.template, rows)
        return dst

    def fill_sample(self) -> None:
        for who, sent in self.returns.items():
            self.fill(who, sent["proposals"])

    def collect(self, **kwargs: Any) -> Collected:
        kwargs.setdefault("render", False)
        kwargs.setdefault("today", TODAY)
        return collect(self.plan, **kwargs)

    def ratings(self) -> Ratings:
        with Ledger(self.folder.ledger_file) as ledger:
            return distribution(self.plan, ledger, CYCLE)

    def cell(self, key: str, ref: str) -> str:
        """The A1 address of a column (by key) in the row of a proposal (by ref)."""
        cols = [c.key for c in self.plan.template.rows_sheet.columns]
        refs = [i["ref"] for i in self.plan.items]
        return f"{xl_col_to_name(cols.index(key))}{FIRST_ROW + refs.index(ref)}"


_PRISTINE: dict[str, Path] = {}


@pytest.fixture
def se(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> SelfEval:
    """A plan folder made from the sample's plan.yaml, with the cycle generated (built once, copied)."""
    if "se" not in _PRISTINE:
        root = tmp_path_factory.mktemp("pristine-se") / "plan"
        folder = PlanFolder(root)
        root.mkdir(parents=True)
        folder.make_dirs()
        write_sample_plan(folder.plan_file, SAMPLE)
        generate(load_plan(folder), CYCLE, spg_date=SESSION, deadline=None)
        _PRISTINE["se"] = root
    shutil.copytree(_PRISTINE["se"], tmp_path / "plan")
    folder = PlanFolder(tmp_path / "plan")
    _, returns = load_sources(SAMPLE)
    return SelfEval(folder, load_plan(folder), returns[CYCLE])


@pytest.fixture
def collected(se: SelfEval) -> SelfEval:
    se.fill_sample()
    result = se.collect()
    assert result.count("merged") == len(se.returns), [(o.path.name, o.status) for o in result.outcomes]
    return se


def issues_of(outcome: Outcome, code: str) -> list[Any]:
    return [i for i in outcome.report.issues if i.code == code]


# --- the template: declared features only ----------------------------------------------


def test_self_evaluation_template_is_declared_with_generic_features() -> None:
    t = load_template("self-evaluation")
    assert t.plan.items_sheet == "Proposals" and t.plan.recipients_sheet == "Respondents"
    assert t.plan.assign_by == "all" and t.plan.group_by == "key_feature"
    assert t.status_column is None and t.status_choices is None
    assert t.summary_kind == "distribution"
    assert t.distribution == DistributionSummary(
        column="rating",
        collate=("evidence", "improvement"),
        nonresponse_flag=0.5,
        split_flag=SplitFlag(spread=2, majority=0.5),
    )
    assert t.choices["level"].names == tuple(LEVELS)
    rows = t.rows_sheet
    assert [c.key for c in rows.editable_columns] == ["rating", "evidence", "improvement"]
    assert rows.column("rating").required is False  # no rating is data, not an error
    assert rows.locked_rows is not None and rows.locked_rows.note == NOTE
    # locked_rows means, on return: every editable cell of a locked row stays blank.
    derived = [r for r in t.rules if r.kind == "blank_when"]
    assert [r.params["column"] for r in derived] == ["rating", "evidence", "improvement"]
    assert all(r.severity == "error" and NOTE in r.message for r in derived)


def test_the_implementation_plan_keeps_the_status_summary() -> None:
    t = load_template("implementation-plan")
    assert t.summary_kind == "status" and t.distribution is None
    assert t.status_column == "rag"
    # Its one locked row: a completed action (Blue last cycle) is not asked for again, and a
    # value typed there anyway is kept with a warning, never an error.
    lock = t.rows_sheet.locked_rows
    assert lock is not None and lock.when == {"last_rag": ("Blue",)} and lock.severity == "warning"
    assert {r.severity for r in t.rules if r.kind == "blank_when"} == {"warning"}


def test_row_lock_compares_like_a_person_would() -> None:
    rows = load_template("self-evaluation").rows_sheet
    assert rows.row_locked({"local": "No"})
    assert rows.row_locked({"local": " no "})
    assert not rows.row_locked({"local": "Yes"})
    assert not rows.row_locked({"local": None})  # blank: for local completion


# --- generate: one workbook per respondent, locked rows, the rating dropdown -------------


def test_generate_makes_one_workbook_per_respondent_with_every_proposal(se: SelfEval) -> None:
    files = sorted(se.folder.outgoing_dir(CYCLE).glob("*.xlsx"))
    assert len(files) == len(se.plan.recipients) == 8
    refs = [i["ref"] for i in se.plan.items]
    for path in files:
        ws = openpyxl.load_workbook(path)["Proposals"]
        got = [ws.cell(r, 1).value for r in range(FIRST_ROW, FIRST_ROW + len(refs))]
        assert got == refs
        assert ws.cell(FIRST_ROW + len(refs), 1).value is None


def test_proposal_and_indicator_texts_are_locked_wrapped_and_readable(se: SelfEval) -> None:
    ws = openpyxl.load_workbook(se.outgoing("Fiona Cameron"))["Proposals"]
    assert ws.protection.sheet
    item = se.plan.items[0]
    row = FIRST_ROW
    for key in ("proposal", "not_yet", "partly", "established", "exemplary"):
        cell = ws[se.cell(key, item["ref"])]
        assert cell.value == item[key]
        assert cell.protection.locked and cell.alignment.wrap_text
    # Indicator columns are wide: 34 in the template, narrowed to no less than half that so
    # the sheet prints on A3 at 8 points or more (issue 19; look.fit_widths).
    assert ws.column_dimensions["D"].width >= 34 * 0.5
    assert ws.row_dimensions[row].height and ws.row_dimensions[row].height > 100  # tall enough to read


def test_not_for_local_completion_rows_are_locked_and_greyed(se: SelfEval) -> None:
    ws = openpyxl.load_workbook(se.outgoing("Morven Reid"))["Proposals"]
    width = len(se.plan.template.rows_sheet.columns)
    for r, item in enumerate(se.plan.items, start=FIRST_ROW):
        rating = ws.cell(r, 9)
        if item["ref"] in LOCKED_REFS:
            cells = [ws.cell(r, c) for c in range(1, width + 1)]
            assert all(c.protection.locked for c in cells), item["ref"]
            assert {c.fill.fgColor.rgb for c in cells} == {"FF" + OFF_FILL[1:]}, item["ref"]
        else:
            assert not rating.protection.locked, item["ref"]
            assert rating.fill.fgColor.rgb == "FF" + EDIT_FILL[1:]


def test_rating_dropdown_offers_the_four_levels_only_where_a_rating_is_wanted(se: SelfEval) -> None:
    ws = openpyxl.load_workbook(se.outgoing("Patricia Gow"))["Proposals"]
    by_type: dict[str, list[Any]] = {}
    for dv in ws.data_validations.dataValidation:
        by_type.setdefault(dv.type or "any", []).append(dv)
    (dropdown,) = by_type["list"]
    assert dropdown.formula1 == '"' + ",".join(LEVELS) + '"'
    assert str(dropdown.sqref) == "I5 I7:I10 I12:I14"  # every proposal but 3.2 and 5.3
    # Selecting an editable cell of a locked row says why it is locked.
    notes = [dv for dv in by_type["any"] if dv.prompt == NOTE]
    assert {str(dv.sqref) for dv in notes} == {"I6 I11", "J6 J11", "K6 K11"}
    # Each level has its colour when chosen.
    rating_rules = [cf for cf in ws.conditional_formatting if str(cf.sqref) == "I5:I14"]
    assert len(rating_rules) == 1 and len(rating_rules[0].rules) == 4


def test_instructions_define_the_levels_and_explain_the_grey_rows(se: SelfEval) -> None:
    ws = openpyxl.load_workbook(se.outgoing("Douglas Brand"))["Instructions"]
    text = [str(c.value) for row in ws.iter_rows() for c in row if c.value]
    assert all(level in text for level in LEVELS)
    assert any("dark grey" in t and NOTE in t for t in text)
    assert "Key Features" in text  # the groups a respondent covers, named from the plan


# --- collect and the ratings summary ---------------------------------------------------------


def test_sample_returns_are_merged_with_normalised_ratings(se: SelfEval) -> None:
    se.fill_sample()
    result = se.collect()
    assert sorted(o.recipient for o in result.outcomes if o.status == "merged") == sorted(se.returns)
    notes = {(i.recipient, i.where): i.message for o in result.outcomes for i in o.report.issues}
    assert notes == {
        ("Martin Laird", "Proposals!I5"): "'partly' was read as Partly established.",
        ("Douglas Brand", "Proposals!I10"): "'established ' was read as Established.",
    }
    with Ledger(se.folder.ledger_file) as ledger:
        entries = ledger.entries(CYCLE, "Proposals")
    assert entries[("Martin Laird", "3.1")]["rating"] == "Partly established"
    assert entries[("Douglas Brand", "6.3")] == {
        "rating": None,
        "evidence": se.returns["Douglas Brand"]["proposals"]["6.3"]["evidence"],
        "improvement": se.returns["Douglas Brand"]["proposals"]["6.3"]["improvement"],
    }


def expected_from_sources(se: SelfEval) -> dict[str, dict[str, Any]]:
    """The distribution recomputed from returns.yaml, not from the code under test."""
    out: dict[str, dict[str, Any]] = {}
    names = [r.name for r in se.plan.recipients]
    for item in se.plan.items:
        ref = item["ref"]
        counts = dict.fromkeys(LEVELS, 0)
        blank = []
        for who in names:
            if who == MISSING:
                continue
            typed = (se.returns[who]["proposals"].get(ref) or {}).get("rating")
            level = next((lv for lv in LEVELS if typed and lv.casefold().startswith(typed.strip().casefold())), None)
            if level:
                counts[level] += 1
            else:
                blank.append(who)
        out[ref] = {"counts": counts, "blank": blank}
    return out


def test_distribution_counts_and_nonresponse(collected: SelfEval) -> None:
    r = collected.ratings()
    assert r.levels == LEVELS
    assert r.respondents == [p.name for p in collected.plan.recipients]
    assert r.no_return == [MISSING]
    expected = expected_from_sources(collected)
    for item in r.items:
        if item.ref in LOCKED_REFS:
            assert item.locked and item.note == NOTE
            assert item.rated == 0 and item.nonresponse == 0 and not item.flags and not item.asked
            continue
        assert item.counts == expected[item.ref]["counts"], item.ref
        assert item.blank == expected[item.ref]["blank"], item.ref
        assert item.missing == [MISSING]
        assert item.rated + item.nonresponse == len(item.asked) == 8


def test_median_and_modal_ratings(collected: SelfEval) -> None:
    by_ref = {i.ref: i for i in collected.ratings().items}
    # 3.1: Partly x5, Established x2.
    assert (by_ref["3.1"].median, by_ref["3.1"].modal) == ("Partly established", ("Partly established",))
    # 3.5: Not yet x2, Partly x1 (four blank, one no return).
    assert (by_ref["3.5"].median, by_ref["3.5"].modal) == ("Not yet established", ("Not yet established",))
    # 6.2: Not yet 2, Partly 1, Established 2, Exemplary 2: median of 7 is the 4th in order.
    assert by_ref["6.2"].counts == {"Not yet established": 2, "Partly established": 1, "Established": 2, "Exemplary": 2}
    assert by_ref["6.2"].median == "Established"
    assert by_ref["6.2"].modal == ("Not yet established", "Established", "Exemplary")
    assert by_ref["3.2"].median is None and by_ref["3.2"].modal == ()


def test_collated_evidence_and_improvement_actions_name_the_respondent(collected: SelfEval) -> None:
    by_ref = {i.ref: i for i in collected.ratings().items}
    sent = collected.returns
    evidence_31 = [
        (who, sent[who]["proposals"]["3.1"]["evidence"]) for who in ("Fiona Cameron", "Patricia Gow", "Morven Reid")
    ]
    assert by_ref["3.1"].collated["evidence"] == evidence_31
    assert [who for who, _ in by_ref["3.1"].collated["improvement"]] == ["Fiona Cameron", "Patricia Gow"]
    # A respondent who gave no rating can still give evidence: it is collated.
    assert ("Douglas Brand", sent["Douglas Brand"]["proposals"]["6.3"]["evidence"]) in by_ref["6.3"].collated[
        "evidence"
    ]
    assert "Douglas Brand" in by_ref["6.3"].blank


def test_flags_for_high_nonresponse_and_split_opinion(collected: SelfEval) -> None:
    r = collected.ratings()
    flagged = {i.ref: [f.kind for f in i.flags] for i in r.items if i.flags}
    assert flagged == {"3.5": ["nonresponse"], "6.2": ["split"]}
    by_ref = {i.ref: i for i in r.items}
    assert by_ref["3.5"].flags[0].detail == "5 of 8 gave no rating (4 left it blank, 1 sent no return)"
    split = by_ref["6.2"].flags[0].detail
    assert "from Not yet established to Exemplary" in split and "no level has more than 50%" in split


def test_flag_definitions() -> None:
    spec = DistributionSummary(column="rating", nonresponse_flag=0.5, split_flag=SplitFlag(spread=2, majority=0.5))

    def item(ratings: list[str], blank: int = 0, missing: int = 0) -> ItemRatings:
        asked = [f"r{n}" for n in range(len(ratings) + blank + missing)]
        out = ItemRatings("1", "t", "g", asked=asked, counts=dict.fromkeys(LEVELS, 0))
        for who, level in zip(asked, ratings, strict=False):
            out.ratings[who] = level
            out.counts[level] += 1
        out.blank = asked[len(ratings) : len(ratings) + blank]
        out.missing = asked[len(ratings) + blank :]
        return out

    kinds = lambda i: [f.kind for f in flags_for(i, LEVELS, spec)]  # noqa: E731
    not_yet, partly, est, _exemplary = LEVELS
    assert kinds(item([partly, partly, est])) == []  # adjacent levels, a majority
    assert kinds(item([not_yet, partly, partly, partly, est])) == ["split"]  # two levels apart
    assert kinds(item([partly, est])) == ["split"]  # 1 and 1: no level has more than half
    assert kinds(item([est])) == []  # one rating cannot be split
    assert kinds(item([est, est], blank=1, missing=1)) == ["nonresponse"]  # 2 of 4: at the threshold
    assert kinds(item([est, est, est], blank=1, missing=1)) == []  # 2 of 5
    assert kinds(item([], missing=3)) == ["nonresponse"]
    assert median_level([0, 3], LEVELS) == not_yet  # even count: the lower of the two middle ones
    assert median_level([1, 2, 3], LEVELS) == est
    assert modal_levels(dict.fromkeys(LEVELS, 0), LEVELS) == ()


def test_report_renderings_escape_untrusted_text(se: SelfEval) -> None:
    hostile = "<script>x</script> | =cmd"
    se.fill("Fiona Cameron", {"3.1": {"rating": "Established", "evidence": hostile}})
    se.collect()
    r = se.ratings()
    assert hostile in to_text(r)
    md, page = to_markdown(r), to_html(r)
    assert "<script>" not in md and "<script>" not in page
    assert "&lt;script&gt;" in page and "\\|" in md
    assert "Fiona Cameron" in page


def test_report_markdown_leaves_no_live_link(se: SelfEval) -> None:
    """Links typed into a return stay text in the Markdown report, as in the implementation
    plan's (one escaper for both: xlplan/text.py)."""
    links = "[click](https://evil.example/x) or http://bare.example and www.evil.example"
    se.fill("Fiona Cameron", {"3.1": {"rating": "Established", "evidence": links}})
    se.collect()
    md = to_markdown(se.ratings())
    note = next(line for line in md.splitlines() if "Fiona Cameron" in line)
    assert "https://" not in note and "http://" not in note and "www.evil" not in note
    assert "\\[click\\](https\\://evil.example/x) or http\\://bare.example and www\\.evil.example" in note


def test_ratings_sheet_for_the_master_tracker(collected: SelfEval) -> None:
    import json

    # The real path: a collect run renders the master tracker, whose Ratings sheet this is.
    # (The returns are merged already; the master, never rendered, is rendered now.)
    master = collected.collect(render=True).master
    assert master is not None and master == collected.folder.master_file
    ws = openpyxl.load_workbook(master)["Ratings"]
    header = [c.value for c in ws[4]]
    assert header[:5] == ["Ref", "Key Feature", "Proposal", "Asked", "Rated"]
    assert header[5:9] == LEVELS
    assert header[9:] == [
        "No rating",
        "No return",
        "Median",
        "Most common",
        "Flags",
        "Evidence / notes",
        "Proposed improvement actions",
    ]
    rows = {ws.cell(r, 1).value: [c.value for c in ws[r]] for r in range(5, ws.max_row + 1)}
    assert list(rows) == [i["ref"] for i in collected.plan.items]
    assert rows["3.5"][3:11] == [8, 3, 2, 1, 0, 0, 4, 1]
    assert rows["3.5"][11] == "Not yet established"
    assert rows["3.5"][13].startswith("High non-response: 5 of 8")
    assert rows["6.2"][13].startswith("Split opinion")
    assert rows["3.1"][14].startswith("Fiona Cameron: Further understanding")
    assert rows["3.2"][13] == NOTE and rows["3.2"][3] is None
    assert "7 of 8 respondents returned; no return from Iain McLeod" in ws["A2"].value
    json.dumps(collected.ratings().as_dict())  # --json ready


def test_a_mistyped_rating_is_an_error_with_a_suggestion(se: SelfEval) -> None:
    se.fill("Fiona Cameron", {"3.1": {"rating": "Exemplery"}, "3.4": {"rating": "Good"}})
    (outcome,) = se.collect().outcomes
    assert outcome.status == "quarantined"
    bad = {i.where: i.message for i in issues_of(outcome, "bad-choice")}
    assert set(bad) == {"Proposals!I5", "Proposals!I7"}
    assert "Did you mean Exemplary?" in bad["Proposals!I5"]


# --- a locked row filled in is an error naming the cell ------------------------------------


def test_filling_a_locked_row_is_an_error_naming_the_cell(se: SelfEval) -> None:
    rows = {
        **se.returns["Aileen Duncan"]["proposals"],
        "3.2": {"rating": "Established"},
        "5.3": {"evidence": "We do this"},
    }
    se.fill("Aileen Duncan", rows)
    (outcome,) = se.collect().outcomes
    assert outcome.status == "quarantined"
    found = {(i.where, i.ref, i.field) for i in issues_of(outcome, "blank_when")}
    assert found == {("Proposals!I6", "3.2", "rating"), ("Proposals!J11", "5.3", "evidence")}
    assert all(i.severity == "error" and NOTE in i.message for i in issues_of(outcome, "blank_when"))
    message = issues_of(outcome, "blank_when")[0].message
    assert message.startswith("3.2: Our rating must stay blank")
    # Nothing of the return is merged, and the annotated copy lets the respondent clear the cell.
    assert se.ratings().returned == []
    (copy_path,) = sorted(se.folder.feedback_dir(CYCLE).glob("*.xlsx"))
    ws = openpyxl.load_workbook(copy_path)["Proposals"]
    assert ws["I6"].value == "Established" and not ws["I6"].protection.locked and ws["I6"].comment
    assert ws["I11"].protection.locked  # the untouched cells of a locked row stay locked


# --- both templates, one code path -----------------------------------------------------------


@dataclass
class Case:
    """One template's sample: how to make its plan folder, its cycle and its filled returns."""

    make: Callable[[Path], PlanFolder]
    cycle: str
    meeting: date
    returns: Callable[[], dict[str, dict[str, dict[str, Any]]]]
    check: Callable[[Plan, Ledger, str], None]


def _make_se(root: Path) -> PlanFolder:
    folder = PlanFolder(root)
    root.mkdir(parents=True)
    folder.make_dirs()
    write_sample_plan(folder.plan_file, SAMPLE)
    return folder


def _se_returns() -> dict[str, dict[str, dict[str, Any]]]:
    _, returns = load_sources(SAMPLE)
    return {who: sent["proposals"] for who, sent in returns[CYCLE].items()}


def _check_ip(plan: Plan, ledger: Ledger, cycle: str) -> None:
    summary = summarise(plan, ledger, cycle, IP_SPG)
    assert summary.statuses == ["Red", "Amber", "Green", "Grey", "Blue"]
    totals = summary.totals
    assert sum(totals.values()) == len(plan.items) and "" not in totals and totals["Blue"] == 1


def _check_se(plan: Plan, ledger: Ledger, cycle: str) -> None:
    r = distribution(plan, ledger, cycle)
    assert [i.ref for i in r.flagged] == ["3.5", "6.2"]
    summary = summarise(plan, ledger, cycle, SESSION)  # the status summary does not crash without a status
    assert summary.statuses == [] and summary.count("merged") == 7


CASES = {
    "implementation-plan": Case(make_plan_folder, IP_CYCLE, IP_SPG, lambda: CLEAN, _check_ip),
    "self-evaluation": Case(_make_se, CYCLE, SESSION, _se_returns, _check_se),
}


def _run_case(name: str, root: Path, *, render: bool) -> tuple[Plan, Collected]:
    """generate -> each recipient fills their workbook (by headers) -> collect: the same calls for any template."""
    case = CASES[name]
    folder = case.make(root)
    plan = load_plan(folder)
    assert plan.template.name == name
    made = generate(plan, case.cycle, spg_date=case.meeting, deadline=None)
    sent = case.returns()
    for who, path, _ in made.files:
        if who in sent:
            fill_return(path, folder.returns_dir / path.name, plan.template, sent[who])
    return plan, collect(plan, cycle=case.cycle, today=case.meeting, render=render)


@pytest.mark.parametrize("name", list(CASES))
def test_both_templates_generate_fill_collect_and_summarise_through_one_path(name: str, tmp_path: Path) -> None:
    plan, result = _run_case(name, tmp_path / "plan", render=True)
    assert result.ok and result.count("merged") == len(CASES[name].returns())
    assert result.master is not None and result.master.is_file()
    with Ledger(plan.folder.ledger_file) as ledger:
        CASES[name].check(plan, ledger, CASES[name].cycle)


@pytest.mark.parametrize("name", list(CASES))
def test_status_and_report_commands_work_for_both_templates(name: str, tmp_path: Path) -> None:
    plan, _ = _run_case(name, tmp_path / "plan", render=False)
    runner = CliRunner()
    for args in (["status"], ["report"], ["report", "--format", "markdown"], ["report", "--format", "html"]):
        result = runner.invoke(main, ["--plan", str(plan.folder.root), *args])
        assert result.exit_code == 0, (args, result.output, result.exception)


# --- LibreOffice as the respondent's spreadsheet ---------------------------------------------


@pytest.mark.libreoffice
def test_return_saved_by_libreoffice_is_merged_into_the_ratings(se: SelfEval) -> None:
    dst = se.folder.returns_dir / "Morven Reid (LibreOffice).xlsx"
    edit_and_save(
        se.outgoing("Morven Reid"),
        dst,
        [
            ("Proposals", se.cell("rating", "3.1"), "Exemplary"),
            ("Proposals", se.cell("evidence", "3.1"), "Saved in LibreOffice Calc"),
            ("Proposals", se.cell("rating", "6.2"), "not yet established"),
            ("Proposals", se.cell("improvement", "6.3"), "=1+1 stays text"),
        ],
    )
    (outcome,) = se.collect().outcomes
    assert outcome.status == "merged", [(i.where, i.message) for i in outcome.report.issues]
    assert [i.code for i in outcome.report.issues] == ["normalised"]
    by_ref = {i.ref: i for i in se.ratings().items}
    assert by_ref["3.1"].ratings == {"Morven Reid": "Exemplary"}
    assert by_ref["3.1"].collated == {"evidence": [("Morven Reid", "Saved in LibreOffice Calc")]}
    assert by_ref["6.2"].ratings == {"Morven Reid": "Not yet established"}
    assert by_ref["6.3"].collated["improvement"] == [("Morven Reid", "=1+1 stays text")]
    assert "Morven Reid" in by_ref["5.1"].blank and MISSING in by_ref["5.1"].missing


@pytest.mark.libreoffice
def test_locked_row_filled_after_unprotecting_in_libreoffice_is_caught(se: SelfEval) -> None:
    dst = se.folder.returns_dir / "Robert Hamill.xlsx"
    edit_and_save(
        se.outgoing("Robert Hamill"),
        dst,
        [("Proposals", se.cell("rating", "3.1"), "Established"), ("Proposals", se.cell("improvement", "5.3"), "Ours")],
        unprotect=["Proposals"],
    )
    (outcome,) = se.collect().outcomes
    assert outcome.status == "quarantined"
    assert [(i.where, i.field) for i in issues_of(outcome, "blank_when")] == [("Proposals!K11", "improvement")]


# --- the declared features work in any template ---------------------------------------------


def _implementation_plan_raw() -> dict[str, Any]:
    from importlib import resources

    return yaml.safe_load((resources.files("xlplan.templates") / "implementation-plan.yaml").read_text("utf-8"))


def test_locked_rows_work_in_the_implementation_plan_too(tmp_path: Path) -> None:
    """Lock the actions a partner body delivers: no RAG is asked for them, and a filled one is an error."""
    raw = _implementation_plan_raw()
    rows = next(s for s in raw["sheets"] if s["kind"] == "rows")
    rows["locked_rows"] = {"when": {"responsible": ["Your Voice"]}, "note": "Reported by Your Voice directly."}
    folder = make_plan_folder(tmp_path / "plan")
    (folder.root / "templates").mkdir()
    (folder.root / "templates" / "implementation-plan.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    plan = load_plan(folder)
    assert plan.template.rows_sheet.locked_rows is not None
    generate(plan, IP_CYCLE, spg_date=IP_SPG, deadline=None)
    path = folder.outgoing_dir(IP_CYCLE) / f"{IP_CYCLE} return - Helen Watson.xlsx"
    ws = openpyxl.load_workbook(path)["Actions"]
    assert ws["A7"].value == "BA1.03" and ws["K7"].protection.locked and not ws["K6"].protection.locked
    # RAG is required, but not in the locked row; a value there is an error naming its cell.
    helen = {k: v for k, v in CLEAN["Helen Watson"].items() if k != "BA1.03"}
    fill_return(path, folder.returns_dir / "ok.xlsx", plan.template, helen)
    bad = {**helen, "BA1.03": {"progress": "Survey in the field"}}
    fill_return(path, folder.returns_dir / "bad.xlsx", plan.template, bad)
    result = collect(plan, cycle=IP_CYCLE, today=IP_SPG, render=False)
    outcomes = {o.path.name: o for o in result.outcomes}
    assert outcomes["ok.xlsx"].report.valid, [i.message for i in outcomes["ok.xlsx"].report.issues]
    assert [(i.where, i.code) for i in outcomes["bad.xlsx"].report.errors] == [("Actions!J7", "blank_when")]


def test_blank_when_can_be_declared_as_a_rule(tmp_path: Path) -> None:
    raw = _implementation_plan_raw()
    raw["rules"].append(
        {
            "kind": "blank_when",
            "severity": "warning",
            "column": "revised_due",
            "when": {"rag": ["Blue"]},
            "message": "A completed action needs no revised due date.",
        }
    )
    folder = make_plan_folder(tmp_path / "plan")
    (folder.root / "templates").mkdir()
    (folder.root / "templates" / "implementation-plan.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    plan = load_plan(folder)
    generate(plan, IP_CYCLE, spg_date=IP_SPG, deadline=None)
    helen = {**CLEAN["Helen Watson"], "BA1.02": {**CLEAN["Helen Watson"]["BA1.02"], "revised_due": date(2026, 1, 31)}}
    path = folder.outgoing_dir(IP_CYCLE) / f"{IP_CYCLE} return - Helen Watson.xlsx"
    fill_return(path, folder.returns_dir / "h.xlsx", plan.template, helen)
    (outcome,) = collect(plan, cycle=IP_CYCLE, today=IP_SPG, render=False).outcomes
    assert outcome.status == "merged"
    (warning,) = issues_of(outcome, "blank_when")
    assert (warning.severity, warning.where) == ("warning", "Actions!M6")


def _se_raw() -> dict[str, Any]:
    from importlib import resources

    return yaml.safe_load((resources.files("xlplan.templates") / "self-evaluation.yaml").read_text("utf-8"))


def _rows(raw: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in raw["sheets"] if s["kind"] == "rows")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda raw: _rows(raw)["locked_rows"].update(when={"nope": ["No"]}), "'nope' is not a plan column shown"),
        (lambda raw: _rows(raw)["locked_rows"].update(when={"rating": ["No"]}), "'rating' is not a plan column shown"),
        (lambda raw: _rows(raw)["locked_rows"].update(when=None), "needs 'when'"),
        (lambda raw: _rows(raw)["locked_rows"].update(colour="red"), "unknown option(s) colour"),
        (lambda raw: raw["summary"].update(kind="pie"), "unknown summary kind 'pie'"),
        (lambda raw: raw["summary"].update(column="evidence"), "must be an editable choice column"),
        (lambda raw: raw["summary"].update(collate=["proposal"]), "'proposal' is not an editable column"),
        (lambda raw: raw["summary"].update(nonresponse_flag=3), "between 0 and 1"),
        (lambda raw: raw["summary"].update(split_flag={"spred": 2}), "split_flag"),
        (lambda raw: raw["summary"].update(status="rating"), "unknown option(s) status"),
        (lambda raw: raw["summary"].pop("column"), "needs 'column'"),
        (
            lambda raw: raw["rules"].append({"kind": "blank_when", "column": "x", "when": {}, "message": "m"}),
            "'x' is not a column",
        ),
    ],
)
def test_malformed_new_declarations_are_named(change: Callable[[dict[str, Any]], Any], words: str) -> None:
    raw = _se_raw()
    change(raw)
    with pytest.raises(TemplateError) as err:
        parse_template(yaml.safe_dump(raw), "x.yaml")
    assert words in str(err.value)


@pytest.mark.parametrize("text", ["y" * 40_000, "🎉" * 20_000], ids=["letters", "emoji"])
def test_collated_text_is_cut_as_excel_counts(text: str) -> None:
    """The collated comments are cut under Excel's cell limit counted in UTF-16 units: 20,000
    emoji are 40,000 to Excel, and a cut never splits one in two."""
    from xlplan.ratings import MAX_CELL, _collated_text
    from xlplan.sheetxml import fits

    cut = _collated_text([("Respondent", text)])
    assert cut.endswith(" ... (truncated)")
    assert fits(cut, MAX_CELL)
    assert not fits(cut + "y" * 25, MAX_CELL)  # cut near the limit, not far below it
    assert "\ufffd" not in cut and cut.encode("utf-8")  # no half of a surrogate pair
    short = "🎉" * 15_000  # 15,000 characters, 30,000 units: whole
    assert _collated_text([("Respondent", short)]) == "Respondent: " + short


def test_a_rated_proposal_is_not_a_gap(collected: SelfEval) -> None:
    """With no status column, a proposal in a merged return was updated: only those nobody
    returned a row for are "no update" (here none: every respondent has every proposal)."""
    with Ledger(collected.folder.ledger_file) as ledger:
        gaps = find_gaps(collected.plan, ledger, CYCLE, SESSION)
    assert gaps.no_update == [] and gaps.no_status == []
    assert [m.recipient for m in gaps.missing_returns] == [MISSING]
    result = CliRunner().invoke(main, ["--plan", str(collected.folder.root), "collect", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "No update this cycle" not in result.output and MISSING in result.output
