"""`xlplan demo`: the whole cycle on a bundled sample plan, in an ordinary plan folder.

Each bundled sample (samples/<name>/: plan.xlsx and the returns people sent) is for one
template; `--template` picks the sample whose plan uses it (the implementation plan by
default, whose two quarters show movement between cycles). The officer's commands are
exactly those of a real cycle; only the returns come from the sample instead of email.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import yaml

from xlplan.collect import Collected, collect
from xlplan.errors import PlanError, UsageError
from xlplan.generate import generate
from xlplan.plan import load_plan
from xlplan.plan_folder import PlanFolder

DEFAULT_TEMPLATE = "implementation-plan"


def sample_root(template: str = DEFAULT_TEMPLATE) -> Path:
    """The bundled sample whose plan uses `template` (its plan.yaml's Settings say which)."""
    from xlplan.samples.build import SAMPLES  # type: ignore[import-not-found]  # package data mypy does not map

    found = {_template_of(s.root): s.root for s in SAMPLES.values()}
    if template not in found:
        raise UsageError(f"No sample for the template {template!r}: there are samples for {', '.join(sorted(found))}.")
    return found[template]


def _template_of(root: Path) -> str:
    source = yaml.safe_load((root / "plan.yaml").read_text(encoding="utf-8"))
    return str(source["settings"]["template"])


def _cycles(root: Path) -> list[tuple[str, date]]:
    from xlplan.samples.build import SAMPLES  # type: ignore[import-not-found]  # package data mypy does not map

    sample = next(s for s in SAMPLES.values() if s.root == root)
    return list(sample.cycles.items())


def run_demo(directory: Path, echo: Callable[[str], None], template: str = DEFAULT_TEMPLATE) -> Collected:
    folder = PlanFolder(directory.resolve())
    if folder.plan_file.exists() or (folder.root.exists() and any(folder.root.iterdir())):
        raise PlanError(f"{folder.root} is not empty: give the demo a new folder, e.g. `xlplan demo my-demo`.")
    sample = sample_root(template)
    folder.root.mkdir(parents=True, exist_ok=True)
    folder.make_dirs()
    shutil.copy(sample / "plan.xlsx", folder.plan_file)
    plan = load_plan(folder)
    words = plan.words
    echo(f"Copied the sample plan ({plan.title}) to {folder.root}")
    result: Collected | None = None
    for cycle, meeting in _cycles(sample):
        gen = generate(plan, cycle, spg_date=meeting, deadline=None)
        echo(f"{cycle}: generated {len(gen.files)} workbooks for {words.recipients} in {gen.outbox}")
        for path in sorted((sample / "returns" / cycle).glob("*.xlsx")):
            shutil.copy(path, folder.returns_dir / path.name)
        # The sample's people replied by the deadline; "today" is the day after it.
        assert gen.deadline is not None
        result = collect(plan, cycle=cycle, today=gen.deadline + timedelta(days=1))
        merged = result.count("merged")
        echo(f"{cycle}: collected {merged} return(s), {result.count('quarantined')} quarantined")
    assert result is not None
    echo("")
    echo("Look at:")
    echo(f"  {folder.master_file}   the master tracker {words.for_meeting}")
    for path in result.feedback:
        echo(f"  {path}   annotated return to send back")
    echo(f"  {folder.root / 'outgoing'}   the workbooks sent to {words.recipients}")
    echo(f"Then try, inside {folder.root}: xlplan collect --dry-run")
    return result
