"""RAG backed by evidence: the measure check (rule `tolerance`) with a direction, a baseline
and a target date, through `collect` with real returns (issue 19).

The cycle's deadline (the date rules judge "as of") is 11/09/2025. BA1.01 is Helen
Watson's, on row 5 of her return; its plan row is changed per test.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ACTIONS, SETTINGS, make_plan_folder
from helpers import CYCLE, HELEN, SPG, Env, describe, issues, only

from xlplan.errors import PlanError, TemplateError
from xlplan.generate import generate
from xlplan.plan import load_plan
from xlplan.schema import judge_measures
from xlplan.template_load import load_template, parse_template

AS_OF = date(2025, 9, 11)
BED_DAYS = {
    "measure": "Bed days lost to delayed discharge",
    "target": 300,
    "direction": "Lower is better",
    "due": date(2025, 3, 31),  # due: judged against the target itself
}
# An annual target for 11/11/2025, two months after the deadline, from 0 a year before.
ANNUAL = {
    "measure": "People supported by link workers",
    "target": 1200,
    "due": date(2026, 3, 31),
    "target_date": date(2025, 11, 11),
    "baseline": 0,
}


def env_with(root: Path, ba1_01: dict[str, Any], settings: dict[str, str] | None = None) -> Env:
    actions = copy.deepcopy(ACTIONS)
    actions[0].update(ba1_01)
    folder = make_plan_folder(root, actions=actions, settings=settings)
    plan = load_plan(folder)
    generate(plan, CYCLE, spg_date=SPG, deadline=None)
    return Env(folder, plan)


def report_ba1_01(env: Env, rag: str, actual: Any) -> tuple[list[str], list[str]]:
    """Helen reports BA1.01; (the return's tolerance warnings, the gaps' contradictions)."""
    env.fill(HELEN, {"BA1.01": {"rag": rag, "actual": actual, "progress": "Update"}})
    out = only(env.collect())
    assert out.status == "merged", describe(out)
    found = [i.message for i in issues(out, "tolerance")]
    result_gaps = env.collect().gaps  # nothing new to read: the gaps of the ledger as it stands
    assert result_gaps is not None
    return found, [f"{g.status} -> {g.suggested}: {g.detail}" for g in result_gaps.contradictions]


# --- lower is better --------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "rag", "suggested"),
    [
        (412, "Red", None),  # 37% over a lower-is-better target: Red is right (was "suggests Green")
        (290, "Green", None),  # under it: Green is right (was "suggests Amber")
        (300, "Green", None),  # on it
        (310, "Amber", None),  # 3.3% over: within the 5% Amber band
        (412, "Green", "Red"),
        (310, "Green", "Amber"),
        (290, "Red", "Green"),
    ],
)
def test_lower_is_better_is_judged_the_right_way_round(
    tmp_path: Path, actual: int, rag: str, suggested: str | None
) -> None:
    env = env_with(tmp_path / "plan", BED_DAYS)
    found, contradictions = report_ba1_01(env, rag, actual)
    if suggested is None:
        assert found == [] and contradictions == []
        return
    assert found == [
        f"BA1.01: Actual {actual} against a target of 300 (lower is better) suggests {suggested}, "
        f"but the status is {rag}: please check the figure or the status."
    ]
    assert contradictions == [
        f"{rag} -> {suggested}: actual {actual} vs target 300 (lower is better) suggests {suggested}"
    ]


def test_a_blank_direction_is_higher_is_better(tmp_path: Path) -> None:
    env = env_with(tmp_path / "plan", {**BED_DAYS, "direction": None})
    found, contradictions = report_ba1_01(env, "Red", 412)
    assert [m.split(" suggests ")[1][:5] for m in found] == ["Green"]
    assert len(contradictions) == 1


def test_the_direction_is_read_forgivingly_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    env = env_with(tmp_path / "a", {**BED_DAYS, "direction": " lower "})
    assert env.plan.by_ref["BA1.01"]["direction"] == "Lower is better"
    folder = make_plan_folder(
        tmp_path / "b", actions=[{**ACTIONS[0], **BED_DAYS, "direction": "Sideways"}, *ACTIONS[1:]]
    )
    with pytest.raises(PlanError) as err:
        load_plan(folder)
    assert "(Direction): 'Sideways' is not one of Higher is better or Lower is better." in str(err.value)


# --- before the target date: the straight line from the baseline --------------------


@pytest.mark.parametrize(
    ("actual", "rag", "suggested"),
    [
        (1050, "Green", None),  # 1,050 of 1,200 with two months to go, ~1,000 expected: on track
        (1000, "Green", None),
        (1050, "Red", "Green"),
        (960, "Green", "Amber"),  # ~4% short of the line
        (900, "Green", "Red"),  # ~10% short of it
    ],
)
def test_before_the_target_date_the_actual_is_judged_against_the_line(
    tmp_path: Path, actual: int, rag: str, suggested: str | None
) -> None:
    env = env_with(tmp_path / "plan", ANNUAL, {**SETTINGS, "plan_start": "2024-11-11"})
    found, contradictions = report_ba1_01(env, rag, actual)
    if suggested is None:
        assert found == [] and contradictions == []
        return
    basis = "(999.5 expected by now, on the straight line from 0 on 11/11/2024 to the target by 11/11/2025)"
    assert found == [
        f"BA1.01: Actual {actual} against a target of 1200 {basis} suggests {suggested}, "
        f"but the status is {rag}: please check the figure or the status."
    ]
    assert contradictions == [f"{rag} -> {suggested}: actual {actual} vs target 1200 {basis} suggests {suggested}"]


def test_without_a_baseline_only_a_target_already_met_is_judged_before_the_date(tmp_path: Path) -> None:
    env = env_with(tmp_path / "plan", {**ANNUAL, "baseline": None})
    assert report_ba1_01(env, "Red", 1050) == ([], [])  # was "suggests Red": nobody can tell yet
    env = env_with(tmp_path / "plan2", {**ANNUAL, "baseline": None})
    found, _ = report_ba1_01(env, "Red", 1250)
    assert len(found) == 1 and "suggests Green" in found[0]


def test_the_target_date_defaults_to_the_due_date(tmp_path: Path) -> None:
    # Due 31/03/2026 with no target date: 1,050 of 1,200 is not yet short of anything.
    env = env_with(tmp_path / "plan", {**ANNUAL, "target_date": None, "baseline": None})
    assert report_ba1_01(env, "Red", 1050) == ([], [])


def test_from_the_target_date_on_the_target_itself_is_the_test(tmp_path: Path) -> None:
    env = env_with(tmp_path / "plan", {**ANNUAL, "target_date": date(2025, 8, 31)})
    found, contradictions = report_ba1_01(env, "Green", 1050)
    assert len(found) == 1 and "1200 suggests Red" in found[0]
    assert len(contradictions) == 1


def test_without_a_plan_start_the_line_starts_at_the_first_cycle(tmp_path: Path) -> None:
    # One cycle: the line starts at its deadline, so the baseline is what is expected now.
    env = env_with(tmp_path / "plan", {**ANNUAL, "baseline": 1000})
    found, _ = report_ba1_01(env, "Green", 1020)
    assert found == []
    env = env_with(tmp_path / "plan2", {**ANNUAL, "baseline": 1000})
    found, _ = report_ba1_01(env, "Green", 900)
    assert len(found) == 1 and "(1000 expected by now, on the straight line from 1000 on 11/09/2025" in found[0]


def test_a_plan_start_that_is_not_a_date_is_refused(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan", settings={**SETTINGS, "plan_start": "spring"})
    with pytest.raises(PlanError, match="'Plan start' is 'spring', not a date"):
        load_plan(folder)


def test_lower_is_better_on_a_line_falls_towards_the_target() -> None:
    p = next(r.params for r in load_template("implementation-plan").rules if r.kind == "tolerance")
    judged = judge_measures(
        p,
        [440, 520, 440],
        [300, 300, 300],
        direction=["Lower is better"] * 3,
        baseline=[600, 600, None],
        until=[date(2026, 3, 31)] * 3,
        start=[date(2025, 3, 31)] * 3,
        as_of=[date(2025, 9, 30)] * 3,  # about half way: ~450 expected
    )
    assert list(judged.expected) == ["Green", "Red", ""]


# --- the template: parameters are checked when it is loaded -------------------------


def _template_with(change: Any) -> str:
    from importlib import resources

    raw = yaml.safe_load((resources.files("xlplan.templates") / "implementation-plan.yaml").read_text("utf-8"))
    rule = next(r for r in raw["rules"] if r["kind"] == "tolerance")
    change(rule)
    return yaml.safe_dump(raw, sort_keys=False)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda r: r.update(diretion=r.pop("direction")),
            "unknown parameter(s) 'diretion' (did you mean 'direction'?)",
        ),
        (lambda r: r.update(tolerence=r.pop("tolerance")), "'tolerence' (did you mean 'tolerance'?)"),
        (lambda r: r.pop("below"), "rule tolerance needs 'below'"),
        (lambda r: r.update(baseline="base_line"), "baseline 'base_line' is not a plan column"),
        (lambda r: r.pop("lower"), "'direction' (a plan column) and 'lower'"),
        (lambda r: r.update(tolerance=5), "tolerance must be a share between 0 and 1"),
    ],
)
def test_a_misspelt_rule_parameter_is_refused_at_load(change: Any, said: str) -> None:
    with pytest.raises(TemplateError) as err:
        parse_template(_template_with(change), "x.yaml")
    assert str(err.value).startswith("x.yaml: ")
    assert said in str(err.value)


def test_every_rule_kind_refuses_a_parameter_it_does_not_take() -> None:
    from importlib import resources

    raw = yaml.safe_load((resources.files("xlplan.templates") / "implementation-plan.yaml").read_text("utf-8"))
    for rule in raw["rules"]:
        broken = copy.deepcopy(raw)
        next(r for r in broken["rules"] if r == rule)["colum"] = "x"
        with pytest.raises(TemplateError, match="unknown parameter"):
            parse_template(yaml.safe_dump(broken), "x.yaml")


# --- the master: the suggested status beside the reported one, as a question --------


def test_the_master_shows_the_suggested_status_beside_the_reported_one(tmp_path: Path) -> None:
    import openpyxl

    env = env_with(tmp_path / "plan", BED_DAYS)
    env.fill(HELEN, {"BA1.01": {"rag": "Green", "actual": 412, "progress": "Update"}})
    out = only(env.collect(render=True))
    assert out.status == "merged"  # a warning, never an error
    ws = openpyxl.load_workbook(env.folder.master_file)["Gaps"]
    rows = [[c for c in row if c is not None] for row in ws.iter_rows(values_only=True)]
    at = next(i for i, r in enumerate(rows) if r and str(r[0]).startswith("RAG status contradicted by the figures (1)"))
    assert rows[at + 1][0].startswith("A question for the officer, not an error")
    assert rows[at + 2] == ["Ref", "Action", "Sponsor", "RAG status", "Figures suggest", "Detail"]
    assert rows[at + 3][:5] == ["BA1.01", ACTIONS[0]["action"], HELEN, "Green", "Red"]
    assert rows[at + 3][5] == "actual 412 vs target 300 (lower is better) suggests Red"


def test_the_master_shows_sponsors_notes_in_full(tmp_path: Path) -> None:
    import openpyxl

    # Real progress notes of 571 and 971 characters were cut at 500, mid-word, on the Risk register.
    note = " ".join(["Recruitment to the two link worker posts was delayed by the job evaluation panel"] * 12)
    assert len(note) == 971
    env = env_with(tmp_path / "plan", {})
    env.fill(HELEN, {"BA1.01": {"rag": "Red", "progress": note}})
    env.collect(render=True)
    book = openpyxl.load_workbook(env.folder.master_file)
    for sheet in ("Risk register", "Current status"):
        cells = [c.value for row in book[sheet].iter_rows() for c in row if isinstance(c.value, str)]
        assert note in cells, sheet
        assert not any("characters are cut" in c for c in cells), sheet
