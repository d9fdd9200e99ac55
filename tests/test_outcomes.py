"""National outcomes: the plan maps actions to the 9 National Health and Wellbeing
Outcomes; the master and the summary show progress by outcome (issue 19)."""

from __future__ import annotations

import copy
from pathlib import Path

import openpyxl
import pytest
from conftest import ACTIONS, make_plan_folder
from helpers import ALLEN, CLEAN, CYCLE, HELEN, SHARON, SPG, Env

from xlplan.errors import PlanError
from xlplan.generate import generate
from xlplan.ledger import Ledger
from xlplan.outcomes import progress_by_outcome
from xlplan.plan import load_plan
from xlplan.standing import picture
from xlplan.summary import summarise

MAPPED = {"BA1.01": "5;6", "BA1.02": "Outcome 5", "BA1.03": " 1 ; 5 ", "BA3.01": "7", "BA3.02": "7; 8", "BA4.01": 2.0}


def outcomes_env(root: Path) -> Env:
    actions = copy.deepcopy(ACTIONS)
    for action in actions:
        action["outcomes"] = MAPPED[action["ref"]]
    folder = make_plan_folder(root, actions=actions)
    plan = load_plan(folder)
    generate(plan, CYCLE, spg_date=SPG, deadline=None)
    return Env(folder, plan)


def test_the_outcome_column_is_read_from_plan_xlsx(tmp_path: Path) -> None:
    env = outcomes_env(tmp_path / "plan")
    assert {ref: item["outcomes"] for ref, item in env.plan.by_ref.items()} == {
        "BA1.01": "5; 6",
        "BA1.02": "5",
        "BA1.03": "1; 5",
        "BA3.01": "7",
        "BA3.02": "7; 8",
        "BA4.01": "2",  # a number typed in the cell
    }


def test_an_outcome_that_is_not_one_of_the_nine_is_refused(tmp_path: Path) -> None:
    actions = copy.deepcopy(ACTIONS)
    actions[0]["outcomes"] = "3; 10"
    with pytest.raises(PlanError) as err:
        load_plan(make_plan_folder(tmp_path / "plan", actions=actions))
    assert "(National outcome): '10' is not one of 1, 2, 3, 4, 5, 6, 7, 8, 9." in str(err.value)


def test_a_plan_without_outcomes_has_no_outcomes_sheet(tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan")
    plan = load_plan(folder)
    generate(plan, CYCLE, spg_date=SPG, deadline=None)
    with Ledger(folder.ledger_file) as ledger:
        assert progress_by_outcome(plan, picture(plan, ledger, CYCLE)) == []


def test_progress_by_outcome_in_the_summary_and_the_master(tmp_path: Path) -> None:
    env = outcomes_env(tmp_path / "plan")
    for who in (HELEN, SHARON, ALLEN):
        env.fill(who, CLEAN[who])
    env.collect(render=True)
    with env.ledger() as ledger:
        summary = summarise(env.plan, ledger, CYCLE, SPG)
    by = {p.outcome: p for p in summary.outcome_progress}
    assert list(by) == [str(n) for n in range(1, 10)]
    # BA1.01 Amber, BA1.02 Blue, BA1.03 Green; BA3.01 Amber (joint: the worse), BA3.02 Green; BA4.01 Green.
    assert by["5"].refs == ("BA1.01", "BA1.02", "BA1.03")
    assert {s: n for s, n in by["5"].counts.items() if n} == {"Amber": 1, "Green": 1, "Blue": 1}
    assert {s: n for s, n in by["7"].counts.items() if n} == {"Amber": 1, "Green": 1}
    assert by["3"].items == 0 and by["3"].groups == ()
    assert by["5"].words == "Health and social care services contribute to reducing health inequalities."
    assert by["5"].as_dict()["items"] == 3
    # The paper's data (paper.py renders Summary.outcomes): outcome, with its words -> status -> count.
    assert summary.outcomes is not None
    assert summary.outcomes[f"5. {by['5'].words}"] == {
        **dict.fromkeys(summary.statuses, 0),
        "Amber": 1,
        "Green": 1,
        "Blue": 1,
        "": 0,
    }

    ws = openpyxl.load_workbook(env.folder.master_file)["National outcomes"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[3] == [
        "National outcome",
        "National Health and Wellbeing Outcome",
        "Red", "Amber", "Green", "Grey", "Blue", "No update",
        "Actions",
        "Big Actions",
    ]  # fmt: skip
    five = rows[4 + 4]
    assert five[:9] == ["5", by["5"].words, 0, 1, 1, 0, 1, 0, 3]
    assert five[9] == "Big Action 1: Reducing Inequalities"
    assert rows[4 + 2][9] == "None mapped"
