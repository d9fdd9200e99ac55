"""The `xlplan` command, driven through click's CliRunner (and once as `python -m xlplan`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SPONSORS, make_plan_folder

from xlplan.cli import main
from xlplan.plan_folder import PlanFolder
from xlplan.plan_sheets import Recipient

CYCLE_ARGS = ["generate", "--cycle", "2025-Q3", "--spg-date", "2025-10-02"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def lines(text: str) -> list[str]:
    return text.splitlines()


# --- help ----------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_group_help(runner: CliRunner, flag: str) -> None:
    result = runner.invoke(main, [flag])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    for command in main.commands:
        assert command in result.stdout


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_has_help(runner: CliRunner, command: str) -> None:
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: main {command}" in result.stdout or f"Usage: xlplan {command}" in result.stdout
    first_line = (main.commands[command].help or "").strip().splitlines()[0]
    assert first_line
    assert " ".join(first_line.split()) in " ".join(result.stdout.split())  # help text wraps


def test_version(runner: CliRunner) -> None:
    from xlplan import __version__

    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"xlplan, version {__version__}\n"


def test_python_dash_m_xlplan(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xlplan", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: ")
    assert "generate" in done.stdout and "init" in done.stdout


# --- init ----------------------------------------------------------------------------


def test_init(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "my-plan"
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    root = target.resolve()
    assert lines(result.stdout) == [
        f"Created plan folder {root}",
        f"Next: fill in {root / 'plan.xlsx'} (Settings, Sponsors, Actions), then run `xlplan generate`.",
    ]
    assert result.stderr == ""
    assert (root / "plan.xlsx").is_file()


def test_init_twice(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "my-plan"
    assert runner.invoke(main, ["init", str(target)]).exit_code == 0
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "already exists" in result.stderr
    assert result.stdout == ""


def test_init_unknown_template(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["init", str(tmp_path / "p"), "--template", "nope"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: No template called 'nope'.")


# --- generate ------------------------------------------------------------------------


def test_generate(runner: CliRunner, plan_folder: PlanFolder) -> None:
    result = runner.invoke(main, ["--plan", str(plan_folder.root), *CYCLE_ARGS])
    assert result.exit_code == 0, result.output
    outbox = plan_folder.outgoing_dir("2025-Q3")
    assert lines(result.stdout) == [
        f"Wrote 3 workbook(s) for 2025-Q3 to {outbox}:",
        "  2025-Q3 return - Helen Watson.xlsx  (Helen Watson, 3 actions)",
        "  2025-Q3 return - Sharon McAlees.xlsx  (Sharon McAlees, 2 actions)",
        "  2025-Q3 return - Allen Stevenson.xlsx  (Allen Stevenson, 3 actions)",
        "Return deadline: Thursday 11 September 2025.",
    ]
    assert result.stderr == ""
    assert sorted(p.name for p in outbox.iterdir()) == sorted(f"2025-Q3 return - {s.name}.xlsx" for s in SPONSORS)


def test_generate_from_inside_the_plan_folder(
    runner: CliRunner, plan_folder: PlanFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(plan_folder.returns_dir)
    result = runner.invoke(main, CYCLE_ARGS)
    assert result.exit_code == 0, result.output
    assert (plan_folder.outgoing_dir("2025-Q3") / "2025-Q3 return - Helen Watson.xlsx").is_file()


def test_generate_deadline_and_one_sponsor(runner: CliRunner, plan_folder: PlanFolder) -> None:
    args = ["--plan", str(plan_folder.root), "generate", "--cycle", "2025-Q3"]
    args += ["--deadline", "12/09/2025", "--sponsor", "Sharon McAlees"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert lines(result.stdout)[1:] == [
        "  2025-Q3 return - Sharon McAlees.xlsx  (Sharon McAlees, 2 actions)",
        "Return deadline: Friday 12 September 2025.",
    ]


def test_generate_warns_about_a_sponsor_with_nothing(runner: CliRunner, tmp_path: Path) -> None:
    sponsors = [*SPONSORS, Recipient("Nobody Here")]
    folder = make_plan_folder(tmp_path / "plan", sponsors=sponsors)
    result = runner.invoke(main, ["--plan", str(folder.root), *CYCLE_ARGS])
    assert result.exit_code == 0, result.output
    assert result.stderr == "Warning: no workbook for Nobody Here: no actions in the plan.\n"
    assert "Wrote 3 workbook(s)" in result.stdout


def test_generate_bad_cycle(runner: CliRunner, plan_folder: PlanFolder) -> None:
    args = [
        "--plan",
        str(plan_folder.root),
        "generate",
        "--cycle",
        "Q3",
        "--spg-date",
        "2025-10-02",
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Cycle 'Q3' should look like 2025-Q3")
    assert not plan_folder.outgoing_dir("Q3").exists()


def test_generate_without_a_plan_folder(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(main, ["--plan", str(empty), *CYCLE_ARGS])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: No plan folder here")
    assert "xlplan init" in result.stderr
    assert result.stdout == ""


def test_generate_needs_spg_date_or_deadline(runner: CliRunner, plan_folder: PlanFolder) -> None:
    result = runner.invoke(main, ["--plan", str(plan_folder.root), "generate", "--cycle", "2025-Q3"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Give --spg-date")
    assert "--deadline" in result.stderr
    assert not plan_folder.outgoing_dir("2025-Q3").exists()


def test_generate_bad_date(runner: CliRunner, plan_folder: PlanFolder) -> None:
    args = ["--plan", str(plan_folder.root), "generate", "--cycle", "2025-Q3", "--spg-date", "soon"]
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert "'soon' is not a date" in result.stderr


def test_generate_unknown_sponsor(runner: CliRunner, plan_folder: PlanFolder) -> None:
    result = runner.invoke(main, ["--plan", str(plan_folder.root), *CYCLE_ARGS, "--sponsor", "Bob"])
    assert result.exit_code == 2
    assert result.stderr == "Error: Not on the plan's Sponsors sheet: Bob.\n"


def test_generate_broken_plan(runner: CliRunner, tmp_path: Path) -> None:
    folder = make_plan_folder(tmp_path / "plan", sponsors=SPONSORS[:1])
    result = runner.invoke(main, ["--plan", str(folder.root), *CYCLE_ARGS])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: plan.xlsx has 5 problem(s) to fix:")
    assert "Sponsor 'Sharon McAlees' of BA3.01 is not on the Sponsors sheet." in result.stderr


def test_demo_twice_uses_a_new_folder_and_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)  # the demo's default folder is relative to where it runs
    first = runner.invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(
        f"Copied the sample plan (Inverclyde HSCP Strategic Plan 2019-2024) to {tmp_path / 'xlplan-demo'}\n"
    )
    assert (tmp_path / "xlplan-demo" / "master-tracker.xlsx").is_file()
    second = runner.invoke(main, ["demo"])
    assert second.exit_code == 0, second.output
    assert f"to {tmp_path / 'xlplan-demo-2'}\n" in second.output
    again = runner.invoke(main, ["demo", "xlplan-demo"])
    assert again.exit_code == 1
    assert "is not empty: give the demo a new folder" in again.output


def test_progress_bar_counts_to_the_total_and_shows_names_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from xlplan import console

    screen = io.StringIO()
    monkeypatch.setattr(console, "Console", lambda **_kw: Console(file=screen, force_terminal=True, width=100))
    with console.progress_bar("Reading returns", 2) as tick:
        tick("a.xlsx")
        tick("[bold]b [v2].xlsx")
    shown = screen.getvalue()
    assert "Reading returns" in shown and "2/2" in shown
    assert "[bold]b [v2].xlsx" in shown  # a file name, not markup
    before = len(screen.getvalue())
    with console.progress_bar("Reading returns", 2, enabled=False) as tick:  # --json: stdout is data
        tick("c.xlsx")
    assert len(screen.getvalue()) == before
