"""Benchmark xlplan at national scale, beside the baselines a user would otherwise use.

    python benchmarks/run.py                      # 200 sponsors x 250 actions = 50,000 actions
    python benchmarks/run.py --sponsors 20 --actions 250

In one run, on the same files:
  generate   xlplan generate, end to end (plan read + every workbook)
  baseline b raw xlsxwriter writing the same cells (no protection, validation or styles)
  collect    xlplan collect, end to end (read + validate + ledger + master tracker)
  baseline a pandas.read_excel(engine="openpyxl") of every return, then pandas.concat
  (info)     pandas.read_excel(engine="calamine"), the fast reader on its own
  council    `xlplan collect` as a whole process on the sample's returns, start-up included
Each step runs in its own process so its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# The cycle is dated from today, so that `xlplan collect` (which reports the gaps as of
# today) sees what the library call sees: the deadline passed three days ago, the SPG meets
# in 18 days.
TODAY = date.today()
SPG = TODAY + timedelta(days=18)
CYCLE = f"{SPG.year}-Q{(SPG.month - 1) // 3 + 1}"
FIRST_DUE = SPG - timedelta(days=640)  # due dates spread from here over 1,200 days
WORDS = [
    "deliver",
    "review",
    "community",
    "partnership",
    "carers",
    "support",
    "housing",
    "recovery",
    "wellbeing",
    "locality",
    "service",
    "people",
    "families",
    "children",
    "staff",
    "training",
    "access",
    "outcomes",
    "health",
    "social",
    "care",
    "plan",
    "improve",
    "extend",
    "develop",
    "integrated",
    "pathway",
    "prevention",
    "early",
    "intervention",
    "digital",
]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


# --- steps (each runs in a child process) ------------------------------------------


def step_build(root: Path, sponsors: int, actions: int) -> dict[str, Any]:
    """A synthetic plan with realistic text lengths."""
    from xlplan.plan import load_plan
    from xlplan.plan_folder import PlanFolder
    from xlplan.plan_sheets import Recipient
    from xlplan.plan_workbook import write_plan_workbook
    from xlplan.template_load import load_template

    rng = random.Random(42)
    folder = PlanFolder(root)
    root.mkdir(parents=True, exist_ok=True)
    folder.make_dirs()
    people = [Recipient(f"Sponsor {i:03d}", f"sponsor{i:03d}@example.org", "Head of Service") for i in range(sponsors)]
    items = []
    big_actions = [f"Big Action {n + 1}: {sentence(rng, 8)}" for n in range(6)]
    for s, person in enumerate(people):
        for a in range(actions):
            quantitative = a % 3 == 0
            items.append(
                {
                    "ref": f"S{s:03d}.{a:03d}",
                    "big_action": big_actions[a % 6],
                    "action": sentence(rng, rng.randint(12, 30)),
                    "responsible": f"Service Manager {rng.randint(1, 400)}",
                    "sponsor": person.name,
                    "due": FIRST_DUE + timedelta(days=rng.randint(0, 1200)),
                    "measure": sentence(rng, 6) if quantitative else "",
                    "target": float(rng.randint(50, 2000)) if quantitative else None,
                }
            )
    settings = {
        "title": "National programme benchmark",
        "plan_id": "bench",
        "template": "implementation-plan",
        "return_email": "bench@example.org",
        "spg_email": "spg@example.org",
    }
    write_plan_workbook(folder.plan_file, load_template("implementation-plan"), settings, people, items)
    # Read once here, as any command would have before: the plan's cache is then warm for both
    # generate and its baseline (the baseline used to find the cache generate had just written,
    # and so was timed warm against generate cold).
    load_plan(folder)
    return {}


def step_generate(root: Path) -> dict[str, Any]:
    from xlplan.generate import generate
    from xlplan.plan import load_plan
    from xlplan.plan_folder import PlanFolder

    plan = load_plan(PlanFolder(root))
    result = generate(plan, CYCLE, spg_date=SPG, deadline=None)
    return {"files": len(result.files)}


def step_baseline_b(root: Path, out: Path) -> dict[str, Any]:
    """The same cells as the generated Actions sheets, with raw xlsxwriter and nothing else."""
    import xlsxwriter

    from xlplan.plan import load_plan
    from xlplan.plan_folder import PlanFolder

    plan = load_plan(PlanFolder(root))
    columns = plan.template.rows_sheet.columns
    out.mkdir(parents=True, exist_ok=True)
    for person in plan.recipients:
        book = xlsxwriter.Workbook(
            str(out / f"{person.name}.xlsx"), {"strings_to_formulas": False, "strings_to_urls": False}
        )
        ws = book.add_worksheet("Actions")
        for c, col in enumerate(columns):
            ws.write_string(0, c, col.header)
        for r, item in enumerate(plan.items_for(person.name), start=1):
            for c, col in enumerate(columns):
                value = item.get(col.key)
                if isinstance(value, date):
                    ws.write_datetime(r, c, value)
                elif isinstance(value, float):
                    ws.write_number(r, c, value)
                elif value:
                    ws.write_string(r, c, str(value))
        book.close()
    return {}


PAST_DUE = {"Blue": 70, "Red": 12, "Amber": 10, "Green": 8}
NOT_YET_DUE = {"Green": 55, "Amber": 15, "Red": 5, "Grey": 25}


def step_fill(root: Path) -> dict[str, Any]:
    """Every sponsor returns: realistic values and a few errors (typos, Red with no note)."""
    from xlplan.ledger import Ledger
    from xlplan.plan import load_plan
    from xlplan.plan_folder import PlanFolder
    from xlplan.return_workbook import Annotations, new_manifest, write_return

    rng = random.Random(7)
    plan = load_plan(PlanFolder(root))
    with Ledger(plan.folder.ledger_file) as ledger:
        info = ledger.cycle(CYCLE)
    assert info is not None
    for n, person in enumerate(plan.recipients):
        items = plan.items_for(person.name)
        filled = {}
        for item in items:
            # As in real returns, the status follows the due date: most actions past their
            # due date are complete (Blue), the rest late, some with a revised date.
            past_due = item["due"] < info.deadline
            statuses = PAST_DUE if past_due else NOT_YET_DUE
            rag = rng.choices(list(statuses), weights=list(statuses.values()))[0]
            revised = None
            if past_due and rag in ("Red", "Amber") and rng.random() < 0.5:
                revised = info.deadline + timedelta(days=rng.randint(30, 365))
            actual = None
            if item["target"] and rag in ("Green", "Amber", "Red"):
                # Mostly consistent with the SOP's 5% rule, as real returns mostly are.
                share = {"Green": 1.02, "Amber": 0.97, "Red": 0.8}[rag] if rng.random() < 0.95 else 0.5
                actual = round(float(item["target"]) * share)
            filled[item["ref"]] = {
                "progress": sentence(rng, rng.randint(15, 45)),
                "rag": rag,
                "actual": actual,
                "comments": sentence(rng, 10) if rag in ("Red", "Amber") else None,
                "revised_due": revised,
            }
        if n % 25 == 0:  # a few returns with errors
            first = items[0]["ref"]
            filled[first]["rag"] = "Grenn"
        manifest = new_manifest(plan, person.name, CYCLE, info.deadline, info.generated_at)
        target = plan.folder.returns_dir / f"Copy of return {n} final.xlsx"
        write_return(target, plan, person.name, items, {}, manifest, SPG, None, Annotations(filled, []))
    return {}


def step_collect(root: Path) -> dict[str, Any]:
    from xlplan.collect import collect
    from xlplan.plan import load_plan
    from xlplan.plan_folder import PlanFolder

    plan = load_plan(PlanFolder(root))
    result = collect(plan, cycle=CYCLE, today=TODAY)
    return {
        "merged": result.count("merged"),
        "quarantined": result.count("quarantined"),
        "errors": sum(len(o.report.errors) for o in result.outcomes),
        "warnings": sum(len(o.report.warnings) for o in result.outcomes),
    }


def step_baseline_a(root: Path, engine: str) -> dict[str, Any]:
    import pandas as pd

    frames = [
        pd.read_excel(f, sheet_name="Actions", engine=engine, header=3)
        for f in sorted((root / "returns").glob("*.xlsx"))
    ]
    df = pd.concat(frames)
    return {"rows": len(df)}


STEPS = {
    "build": step_build,
    "generate": step_generate,
    "baseline_b": step_baseline_b,
    "fill": step_fill,
    "collect": step_collect,
    "baseline_a": step_baseline_a,
}


def child(name: str, args: list[str]) -> None:
    """Run one step in this process and print its figures as JSON."""
    params: list[Any] = [Path(args[0])]
    if name == "build":
        params += [int(args[1]), int(args[2])]
    elif name == "baseline_b":
        params += [Path(args[1])]
    elif name == "baseline_a":
        params += [args[1]]
    start = time.perf_counter()
    extra = STEPS[name](*params)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024, **extra}))


def run_step(name: str, *args: Any) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", name, *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def command(folder: Path) -> dict[str, Any]:
    """`xlplan collect` as the officer runs it: a whole process, its report piped. (Its peak
    memory is not taken: ru_maxrss of children is the largest of every step so far.)"""
    exe = str(Path(sys.executable).with_name("xlplan"))
    start = time.perf_counter()
    done = subprocess.run([exe, "--plan", str(folder), "collect", "--cycle", CYCLE], capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: some returns were quarantined, as the fill intends
        raise SystemExit(f"xlplan collect failed:\n{done.stderr.decode(errors='replace')}")
    return {"seconds": seconds, "peak_mb": None}


def council(work: Path) -> float:
    """`xlplan collect` on the sample's returns as a user runs it: a whole process."""
    from xlplan.demo import run_demo

    folder = work / "council"
    run_demo(folder, echo=lambda _s: None)
    # Undo the last cycle's collect so the timed run does real work.
    (folder / "ledger.sqlite").unlink()
    for sub in ("archive", "feedback", "outgoing", "backups"):  # a ledger gone beside these is a lost one
        shutil.rmtree(folder / sub, ignore_errors=True)
    for f in folder.glob("ledger.sqlite*"):
        f.unlink()
    (folder / "master-tracker.xlsx").unlink(missing_ok=True)
    exe = str(Path(sys.executable).with_name("xlplan"))
    subprocess.run(
        [exe, "--plan", str(folder), "generate", "--cycle", "2023-Q3", "--spg-date", "2023-10-05"],
        check=True,
        capture_output=True,
    )
    start = time.perf_counter()
    subprocess.run([exe, "--plan", str(folder), "collect", "--cycle", "2023-Q3"], capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sponsors", type=int, default=200)
    parser.add_argument("--actions", type=int, default=250, help="actions per sponsor")
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1:])
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="xlplan-bench-"))
    root = work / "plan"
    total = args.sponsors * args.actions
    print(f"xlplan benchmark: {args.sponsors} sponsors x {args.actions} actions = {total:,} actions")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"date: {date.today().isoformat()}")
    run_step("build", root, args.sponsors, args.actions)
    figures = {
        "generate": run_step("generate", root),
        "baseline b (raw xlsxwriter)": run_step("baseline_b", root, work / "raw"),
    }
    run_step("fill", root)
    shutil.copytree(root, work / "plan-cli")  # the same returns, not yet collected, for the command
    figures["collect"] = run_step("collect", root)
    figures["baseline a (pandas + openpyxl)"] = run_step("baseline_a", root, "openpyxl")
    figures["info: pandas + calamine"] = run_step("baseline_a", root, "calamine")
    figures["info: `xlplan collect` command"] = command(work / "plan-cli")
    print()
    print(f"{'step':34} {'seconds':>9} {'peak MB':>9}")
    for name, f in figures.items():
        peak = "-" if f["peak_mb"] is None else f"{f['peak_mb']:.0f}"
        print(f"{name:34} {f['seconds']:9.2f} {peak:>9}")
    c = figures["collect"]
    a = figures["baseline a (pandas + openpyxl)"]
    g = figures["generate"]
    b = figures["baseline b (raw xlsxwriter)"]
    print()
    print(
        f"collect / baseline a  = {c['seconds'] / a['seconds']:.2f}x   (target <= 0.5x)"
        f"   merged {c['merged']}, quarantined {c['quarantined']} ({c['errors']} errors, {c['warnings']:,} warnings)"
    )
    print(f"generate / baseline b = {g['seconds'] / b['seconds']:.2f}x   (target <= 1.5x)")
    print(f"collect peak memory   = {c['peak_mb']:.0f} MB       (target < 1024 MB)")
    seconds = council(work)
    print(f"council-size `xlplan collect` (sample, whole process) = {seconds:.2f} s   (target < 2 s)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
