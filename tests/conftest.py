"""Fixtures: small plan folders built in tmp_path, and the LibreOffice client.

LibreOffice tests are part of the suite, not optional: when soffice is missing
they fail, unless XLPLAN_SKIP_LIBREOFFICE=1 is set on purpose (a laptop without it).
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from xlplan.plan import load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.plan_sheets import Recipient
from xlplan.plan_workbook import write_plan_workbook
from xlplan.template_load import load_template

SPONSORS = [
    Recipient("Helen Watson", "helen.watson@example.org", "Head of Strategy"),
    Recipient("Sharon McAlees", "sharon.mcalees@example.org", "Head of Children & Families"),
    Recipient("Allen Stevenson", "allen.stevenson@example.org", "Head of Health & Community Care"),
]
BA1 = "Big Action 1: Reducing Inequalities"
BA3 = "Big Action 3: Together we will Protect Our Population"
ACTIONS: list[dict[str, Any]] = [
    {
        "ref": "BA1.01",
        "big_action": BA1,
        "action": "Extend community link workers to all GP practices",
        "responsible": "Service Manager, Health Improvement",
        "sponsor": "Helen Watson",
        "due": date(2024, 3, 31),
        "measure": "People supported by link workers",
        "target": 1200,
    },
    {
        "ref": "BA1.02",
        "big_action": BA1,
        "action": "=Publish a locality plan for each of the six localities",
        "responsible": "Planning Officer",
        "sponsor": "Helen Watson",
        "due": date(2023, 3, 31),
        "measure": "",
        "target": None,
    },
    {
        "ref": "BA1.03",
        "big_action": BA1,
        "action": "@Deliver the Your Voice community survey every year",
        "responsible": "Your Voice",
        "sponsor": "Helen Watson",
        "due": date(2026, 12, 31),
        "measure": "% of respondents reporting good wellbeing",
        "target": 85,
    },
    {
        "ref": "BA3.01",
        "big_action": BA3,
        "action": "Refresh the public protection chief officers' group strategy",
        "responsible": "Public Protection Lead",
        "sponsor": "Sharon McAlees; Allen Stevenson",
        "due": date(2025, 12, 31),
        "measure": "",
        "target": None,
    },
    {
        "ref": "BA3.02",
        "big_action": BA3,
        "action": "Train staff in adult support and protection",
        "responsible": "Learning and Development",
        "sponsor": "Sharon McAlees; Allen Stevenson",
        "due": date(2026, 6, 30),
        "measure": "Staff trained",
        "target": 400,
    },
    {
        "ref": "BA4.01",
        "big_action": "Big Action 4: Support people to live at home",
        "action": "Expand technology enabled care",
        "responsible": "TEC Lead",
        "sponsor": "Allen Stevenson",
        "due": date(2025, 9, 30),
        "measure": "Households with TEC",
        "target": 900,
    },
]
SETTINGS = {
    "title": "Test Strategic Plan",
    "plan_id": "test-plan",
    "template": "implementation-plan",
    "officer": "Pat Planner",
    "return_email": "planning@example.org",
    "spg_email": "spg@example.org",
}


# The master tracker's sheets, in order, and the 1-based Excel row of every table's header.
MASTER_SHEETS = [
    "Dashboard",
    "Risk register",
    "Changes since last cycle",
    "Proposed changes to timescales",
    "SPG decisions",
    "Plan changes",
    "Current status",
    "Trend",
    "Gaps",
    "Feedback",
    "Returns",
]
MASTER_HEADER = 4


def make_plan_folder(
    root: Path,
    actions: list[dict[str, Any]] | None = None,
    sponsors: list[Recipient] | None = None,
    settings: dict[str, str] | None = None,
    decisions: list[dict[str, Any]] | None = None,
) -> PlanFolder:
    folder = PlanFolder(root)
    root.mkdir(parents=True, exist_ok=True)
    folder.make_dirs()
    write_plan_workbook(
        folder.plan_file,
        load_template("implementation-plan"),
        settings or SETTINGS,
        SPONSORS if sponsors is None else sponsors,
        ACTIONS if actions is None else actions,
        decisions=decisions,
    )
    return folder


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`xlplan demo`'s folder (two collected cycles of the sample), built once per run.

    Never write into it: use `demo_copy`, which gives each module its own copy.
    """
    from xlplan.demo import run_demo

    root = tmp_path_factory.mktemp("built-demo") / "demo"
    run_demo(root, echo=lambda _s: None)
    return root


def demo_copy(built: Path, factory: pytest.TempPathFactory, name: str) -> Path:
    root = factory.mktemp(name) / "demo"
    shutil.copytree(built, root)
    return root


@pytest.fixture
def plan_folder(tmp_path: Path) -> PlanFolder:
    return make_plan_folder(tmp_path / "plan")


@pytest.fixture
def plan(plan_folder: PlanFolder):
    return load_plan(plan_folder)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from libreoffice import soffice_path

    if soffice_path() or not any(i.get_closest_marker("libreoffice") for i in items):
        return
    if os.environ.get("XLPLAN_SKIP_LIBREOFFICE") == "1":
        skip = pytest.mark.skip(reason="XLPLAN_SKIP_LIBREOFFICE=1 and soffice is not installed")
        for item in items:
            if item.get_closest_marker("libreoffice"):
                item.add_marker(skip)
        return
    raise pytest.UsageError(
        "LibreOffice (soffice) is not installed but the suite needs it: "
        "apt-get install -y libreoffice-calc-nogui python3-uno poppler-utils "
        "(or set XLPLAN_SKIP_LIBREOFFICE=1 to skip those tests on purpose)."
    )
