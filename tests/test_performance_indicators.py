"""A third kind of return, as a template only: quarterly performance indicators.

The template (templates/performance-indicators.yaml) uses only generic features; these tests
run it over two quarters of its sample (one lead officer missing the second quarter, a joint
indicator), with one return filled in and saved by LibreOffice Calc, and check that
everything people read speaks of indicators, lead officers and domains, never of the
implementation plan's actions, sponsors, Big Actions or RAG statuses.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from libreoffice import edit_and_save

from xlplan.cli import main
from xlplan.collect import collect
from xlplan.generate import generate
from xlplan.mail import spg_pack
from xlplan.plan import Plan, load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.recipient_mail import chase_drafts
from xlplan.samples.build import SAMPLES, items_key, load_sources, write_sample_plan
from xlplan.samples.sponsor import fill_return
from xlplan.template_load import load_template

SAMPLE = SAMPLES["performance-indicators"]
Q1, Q2 = "2024-Q1", "2024-Q2"
LO_LEAD = "Ruth Graham"  # fills in her Q2 return in LibreOffice Calc
MISSING = "Karen Doyle"  # sends nothing in Q2

# The implementation plan's words (its template's and the Inverclyde sample's).
IMPLEMENTATION_WORDS = re.compile(
    r"big action|sponsor|\brag\b|\bspg\b|implementation plan|strategic planning group|red and amber",
    re.IGNORECASE,
)


def test_the_template_loads_with_its_own_words_and_roles() -> None:
    t = load_template("performance-indicators")
    w = t.words
    assert (w.item, w.items, w.recipient, w.recipients, w.group) == (
        "indicator",
        "indicators",
        "lead officer",
        "lead officers",
        "domain",
    )
    assert t.attention == ("Off track", "At risk") and t.complete is None
    assert (t.roles.label, t.roles.progress, t.roles.due, t.roles.revised) == ("indicator", "commentary", None, None)
    assert t.roles.contradictions is not None and t.roles.contradictions.kind == "tolerance"
    trend = next(c for c in t.rows_sheet.columns if c.key == "trend")
    assert [c.value for c in t.choices[trend.choices or ""].values] == ["Improving", "Maintaining", "Worsening"]


# --- two quarters of the sample, one return through LibreOffice ------------------------------


def _cell(path: Path, sheet: str, ref: str, header: str) -> str:
    """The A1 address of `header`'s column in `ref`'s row of a generated workbook."""
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if "Ref" in r and header in r)
    col = rows[head].index(header)
    row = next(i for i, r in enumerate(rows) if i > head and r[0] == ref)
    return f"{openpyxl.utils.get_column_letter(col + 1)}{row + 1}"


def _run_cycle(plan: Plan, cycle: str, sent: dict[str, Any], lo: bool) -> None:
    meeting = SAMPLE.cycles[cycle]
    gen = generate(plan, cycle, spg_date=meeting, deadline=None)
    outgoing = {who: path for who, path, _ in gen.files}
    template = plan.template
    for who, values in sent.items():
        rows = values[items_key(template)]
        dst = plan.folder.returns_dir / f"{cycle} {who}.xlsx"
        if lo and who == LO_LEAD:  # typed into Calc and saved there, as xlsx
            headers = {c.key: c.header for c in template.rows_sheet.columns}
            edits: list[tuple[str, str, Any]] = [
                (template.rows_sheet.name, _cell(outgoing[who], template.rows_sheet.name, ref, headers[key]), value)
                for ref, row in rows.items()
                for key, value in row.items()
            ]
            edit_and_save(outgoing[who], dst, edits)
        else:
            fill_return(outgoing[who], dst, template, rows)
    assert gen.deadline is not None
    result = collect(plan, cycle=cycle, today=gen.deadline + timedelta(days=1))
    assert result.count("merged") == len(sent), [(o.path.name, o.status, o.report.issues) for o in result.outcomes]


@pytest.fixture(scope="module")
def quarters(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    root = tmp_path_factory.mktemp("performance-indicators") / "plan"
    root.mkdir()
    folder = PlanFolder(root)
    folder.make_dirs()
    write_sample_plan(folder.plan_file, SAMPLE)
    _, returns = load_sources(SAMPLE)
    plan = load_plan(folder)
    _run_cycle(plan, Q1, returns[Q1], lo=False)
    assert MISSING not in returns[Q2]
    _run_cycle(plan, Q2, returns[Q2], lo=True)
    return plan


def _bodies(msg: EmailMessage) -> str:
    parts = [str(msg["Subject"])]
    parts += [p.get_content() for p in msg.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


def _strings(value: Any) -> list[str]:
    """Every string value in parsed JSON (not the keys)."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _cli(plan: Plan, *args: str) -> str:
    result = CliRunner().invoke(main, ["--plan", str(plan.folder.root), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.libreoffice
def test_the_libreoffice_return_is_merged_with_its_values(quarters: Plan) -> None:
    out = _cli(quarters, "export", "entries", "--format", "json")
    assert "Two care homes were graded adequate" in out  # CC3's commentary, typed in Calc
    ruth = [line for line in out.splitlines() if "Ruth Graham" in line]
    assert ruth, out[:2000]


@pytest.mark.libreoffice
def test_everything_people_read_speaks_of_indicators(quarters: Plan) -> None:
    plan = quarters
    deadline_q2 = SAMPLE.cycles[Q2] - timedelta(days=21)
    drafts = chase_drafts(plan, Q2, deadline_q2 + timedelta(days=1))
    assert [d.recipient for d in drafts] == [MISSING]
    chaser = _bodies(drafts[0].message)
    assert "performance indicator return" in chaser and "4 indicators" in chaser
    pack = _bodies(spg_pack(plan, Q2, deadline_q2 + timedelta(days=1)).message)
    assert "Performance and Audit Committee" in pack and "domain" in pack.lower()
    assert "Off track" in pack and "At risk" in pack
    outputs = {
        "chaser": chaser,
        "meeting's email": pack,
        **{f"report {fmt}": _cli(plan, "report", "--format", fmt) for fmt in ("text", "markdown", "html")},
        # The JSON's keys are a stable interface ("sponsor" among them): its values are what is read.
        "report json": "\n".join(_strings(json.loads(_cli(plan, "report", "--format", "json")))),
        "status": _cli(plan, "status"),
        "collect": _cli(plan, "collect", "--dry-run"),
    }
    for name in ("report text", "report markdown", "report html"):
        text = outputs[name]
        assert "Status by Domain" in text and "Indicator" in text, name
        # MH1: At risk, up from Off track; Karen Doyle's indicators carried forward.
        assert "CAMHS" in text and "Karen Doyle" in text, name
        assert "Overdue" not in text and "timescales" not in text, name  # no due dates in this template
        assert "Feedback and case studies" not in text, name  # and no feedback sheet
    found = {name: sorted({m.group(0) for m in IMPLEMENTATION_WORDS.finditer(text)}) for name, text in outputs.items()}
    assert {name: words for name, words in found.items() if words} == {}


@pytest.mark.libreoffice
def test_the_master_tracker_shows_the_indicators_in_their_words(quarters: Plan) -> None:
    book = openpyxl.load_workbook(quarters.folder.master_file)
    texts = {
        ws.title: [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]
        for ws in book.worksheets
    }
    assert len(texts) >= 3, list(texts)
    every = "\n".join([*texts, *(t for cells in texts.values() for t in cells)])
    assert "Children and young people starting CAMHS treatment within 18 weeks of referral" in every
    assert "Off track" in every and "At risk" in every and "On track" in every
    assert "Community health and social care" in every and "Lead officer" in every
    # Ruth Graham's Q2 figures, saved by LibreOffice, are what the master shows.
    assert "One point short of target; the reablement team has recruited four of its six new posts." in every
    assert sorted({m.group(0) for m in IMPLEMENTATION_WORDS.finditer(every)}) == []


def test_the_demo_runs_the_performance_indicators_sample(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--template", "performance-indicators", str(tmp_path / "pi")])
    assert result.exit_code == 0, result.output
    assert "Copied the sample plan (Glenmorven IJB performance indicators 2024/25)" in result.output
    assert f"{Q1}: collected 3 return(s), 0 quarantined" in result.output
    assert f"{Q2}: collected 2 return(s), 0 quarantined" in result.output
    assert "workbooks for lead officers" in result.output
    assert (tmp_path / "pi" / "master-tracker.xlsx").is_file()


def test_the_sample_is_built_from_its_sources(tmp_path: Path) -> None:
    """plan.xlsx in the sample is what samples/build.py makes of plan.yaml (same items)."""
    target = tmp_path / "plan.xlsx"
    write_sample_plan(target, SAMPLE)
    shipped = openpyxl.load_workbook(SAMPLE.root / "plan.xlsx")["Indicators"]
    built = openpyxl.load_workbook(target)["Indicators"]
    assert [r for r in shipped.iter_rows(values_only=True)] == [r for r in built.iter_rows(values_only=True)]
    assert {p.name for p in (SAMPLE.root / "returns" / Q2).iterdir()} == {
        "Copy of 2024-Q2 return - Iain Sinclair.xlsx",
        "2024-Q2 return - Ruth Graham.xlsx",
    }
