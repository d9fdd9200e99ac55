"""Rebuild the sample's binaries from its readable sources.

    python -m xlplan.samples.build        (or: python samples/build.py)

`inverclyde/plan.yaml` -> `inverclyde/plan.xlsx`, then, in a scratch plan folder,
each cycle of `inverclyde/returns.yaml` is generated, filled in as the sponsors
would (see sponsor.py) and saved under `inverclyde/returns/<cycle>/` with the kind
of file names sponsors really send. The filled returns carry the sample plan's
identity, so `xlplan demo` can collect them in any copy of the plan.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from xlplan.collect import collect
from xlplan.generate import generate
from xlplan.plan import PlanFolder, Recipient, load_plan, write_plan_workbook
from xlplan.samples.sponsor import fill_return
from xlplan.template import load_template

HERE = Path(__file__).resolve().parent / "inverclyde"
CYCLES = {"2023-Q2": date(2023, 7, 6), "2023-Q3": date(2023, 10, 5)}
# What sponsors call the file when they send it back (identification never uses it).
FILE_NAMES = {
    "Helen Watson": "Copy of {cycle} return - Helen Watson.xlsx",
    "Sharon McAlees": "BA2 BA3 update SMcA final v2.xlsx",
    "Allen Stevenson": "{cycle} return - Allen Stevenson (2).xlsx",
    "Deborah Gillespie": "ADP and MH update {cycle}.xlsx",
    "Charlene Elliot": "CVS return {cycle}.xlsx",
}


def load_sources() -> tuple[dict[str, Any], dict[str, Any]]:
    plan = yaml.safe_load((HERE / "plan.yaml").read_text(encoding="utf-8"))
    returns = yaml.safe_load((HERE / "returns.yaml").read_text(encoding="utf-8"))
    return plan, returns


def write_sample_plan(target: Path) -> None:
    source, _ = load_sources()
    template = load_template(source["settings"]["template"])
    actions = [{**a, "due": date.fromisoformat(str(a["due"]))} for a in source["actions"]]
    write_plan_workbook(target, template, source["settings"], [Recipient(**s) for s in source["sponsors"]], actions)


def build() -> None:
    write_sample_plan(HERE / "plan.xlsx")
    _, returns = load_sources()
    with tempfile.TemporaryDirectory() as tmp:
        folder = PlanFolder(Path(tmp))
        folder.make_dirs()
        shutil.copy(HERE / "plan.xlsx", folder.plan_file)
        plan = load_plan(folder)
        for cycle, spg in CYCLES.items():
            result = generate(plan, cycle, spg_date=spg, deadline=None)
            out_dir = HERE / "returns" / cycle
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
            for who, path, _ in result.files:
                if who not in returns[cycle]:
                    continue  # this sponsor sends nothing this cycle
                sent = returns[cycle][who]
                target = out_dir / FILE_NAMES[who].format(cycle=cycle)
                fill_return(path, target, plan.template, sent["actions"], sent.get("feedback"))
                shutil.copy(target, folder.returns_dir / target.name)
            collect(plan, cycle=cycle, render=False)
            print(f"{cycle}: {len(list(out_dir.iterdir()))} returns in {out_dir}")


if __name__ == "__main__":
    build()
