"""`xlplan demo`: the whole cycle on the bundled sample plan, in an ordinary plan folder.

Two quarters are run so the master tracker shows movement between cycles: the
officer's commands are exactly those of a real cycle; only the sponsors' returns
come from the sample instead of email.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from xlplan.collect import Collected, collect
from xlplan.errors import PlanError
from xlplan.generate import generate
from xlplan.plan import load_plan
from xlplan.plan_folder import PlanFolder

CYCLES = (("2023-Q2", date(2023, 7, 6)), ("2023-Q3", date(2023, 10, 5)))


def sample_root() -> Path:
    return Path(str(resources.files("xlplan.samples") / "inverclyde"))


def run_demo(directory: Path, echo: Callable[[str], None]) -> Collected:
    folder = PlanFolder(directory.resolve())
    if folder.plan_file.exists() or (folder.root.exists() and any(folder.root.iterdir())):
        raise PlanError(f"{folder.root} is not empty: give the demo a new folder, e.g. `xlplan demo my-demo`.")
    sample = sample_root()
    folder.root.mkdir(parents=True, exist_ok=True)
    folder.make_dirs()
    shutil.copy(sample / "plan.xlsx", folder.plan_file)
    echo(f"Copied the sample plan (Inverclyde HSCP Strategic Plan 2019-2024) to {folder.root}")
    plan = load_plan(folder)
    result: Collected | None = None
    for cycle, spg in CYCLES:
        gen = generate(plan, cycle, spg_date=spg, deadline=None)
        echo(f"{cycle}: generated {len(gen.files)} sponsor workbooks in {gen.outbox}")
        for path in sorted((sample / "returns" / cycle).glob("*.xlsx")):
            shutil.copy(path, folder.returns_dir / path.name)
        # The sample's sponsors replied by the deadline; "today" is the day after it.
        assert gen.deadline is not None
        result = collect(plan, cycle=cycle, today=gen.deadline + timedelta(days=1))
        merged = result.count("merged")
        echo(f"{cycle}: collected {merged} return(s), {result.count('quarantined')} quarantined")
    assert result is not None
    echo("")
    echo("Look at:")
    echo(f"  {folder.master_file}   the master tracker for the SPG")
    for path in result.feedback:
        echo(f"  {path}   annotated return to send back")
    echo(f"  {folder.root / 'outgoing'}   the workbooks sent to sponsors")
    echo(f"Then try, inside {folder.root}: xlplan collect --dry-run")
    return result
