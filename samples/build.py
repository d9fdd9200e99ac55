"""Rebuild the samples' binaries from their readable sources.

    python -m xlplan.samples.build                    (or: python samples/build.py)
    python -m xlplan.samples.build self-evaluation    (one sample only)

For each sample folder (``inverclyde/``, ``self-evaluation/``, ``performance-indicators/``): ``plan.yaml`` ->
``plan.xlsx``, then, in a scratch plan folder, each cycle of ``returns.yaml`` is
generated, filled in as the recipients would (see sponsor.py) and saved under
``returns/<cycle>/`` with the kind of file names people really send. The filled
returns carry the sample plan's identity, so they can be collected in any copy of
the plan (``xlplan demo`` does this with the Inverclyde sample).

The code knows no template: ``plan.yaml`` lists recipients and items under the
template's own sheet names in lower case (``sponsors``/``actions`` for the
implementation plan, ``respondents``/``proposals`` for the self-evaluation,
``leads``/``indicators`` for the performance indicators), and
``returns.yaml`` gives, per cycle and recipient, the rows under the same items key
(and, optionally, ``feedback`` for a groups sheet).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import yaml

from xlplan.collect import collect
from xlplan.generate import generate
from xlplan.manifest import PREFIX, SEAL, SHEET
from xlplan.plan import load_plan
from xlplan.plan_folder import PlanFolder
from xlplan.plan_sheets import Recipient
from xlplan.plan_workbook import write_plan_workbook
from xlplan.samples.sponsor import fill_return
from xlplan.template import Template
from xlplan.template_load import load_template

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Sample:
    folder: str
    cycles: dict[str, date]  # cycle -> the meeting the returns are for (deadline 3 weeks before)
    # What people call the file when they send it back (identification never uses it).
    file_names: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return ROOT / self.folder

    def file_name(self, who: str, cycle: str) -> str:
        return self.file_names.get(who, "{cycle} return - {who}.xlsx").format(cycle=cycle, who=who)


SAMPLES: dict[str, Sample] = {
    "inverclyde": Sample(
        "inverclyde",
        {"2023-Q2": date(2023, 7, 6), "2023-Q3": date(2023, 10, 5)},
        {
            "Helen Watson": "Copy of {cycle} return - Helen Watson.xlsx",
            "Sharon McAlees": "BA2 BA3 update SMcA final v2.xlsx",
            "Allen Stevenson": "{cycle} return - Allen Stevenson (2).xlsx",
            "Deborah Gillespie": "ADP and MH update {cycle}.xlsx",
            "Charlene Elliot": "CVS return {cycle}.xlsx",
        },
    ),
    "self-evaluation": Sample(
        "self-evaluation",
        {"2019-05": date(2019, 5, 10)},  # the IJB development session
        {
            "Fiona Cameron": "self evaluation FC.xlsx",
            "Robert Hamill": "Copy of {cycle} return - Robert Hamill.xlsx",
            "Morven Reid": "MSG self-evaluation - third sector view.xlsx",
        },
    ),
    "performance-indicators": Sample(
        "performance-indicators",
        # Quarters of the financial year, each reported to the committee about ten weeks on.
        {"2024-Q1": date(2024, 9, 10), "2024-Q2": date(2024, 12, 10)},
        {
            "Karen Doyle": "PIs {cycle} H&CC KD.xlsx",
            "Iain Sinclair": "Copy of {cycle} return - Iain Sinclair.xlsx",
        },
    ),
}

# The Inverclyde sample, under the names earlier versions of this module used.
HERE = SAMPLES["inverclyde"].root
CYCLES = SAMPLES["inverclyde"].cycles
FILE_NAMES = SAMPLES["inverclyde"].file_names


def load_sources(sample: Sample | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    root = (sample or SAMPLES["inverclyde"]).root
    plan = yaml.safe_load((root / "plan.yaml").read_text(encoding="utf-8"))
    returns = yaml.safe_load((root / "returns.yaml").read_text(encoding="utf-8"))
    return plan, returns


def items_key(template: Template) -> str:
    """Where a sample's sources list the plan's items: the items sheet's name, lower case."""
    return template.plan.items_sheet.casefold()


def write_sample_plan(target: Path, sample: Sample | None = None) -> Template:
    """plan.yaml -> a plan.xlsx laid out from the sample's template."""
    source, _ = load_sources(sample)
    template = load_template(source["settings"]["template"])
    dates = [c.key for c in template.plan.columns if c.type == "date"]
    items = [
        {k: date.fromisoformat(str(v)) if k in dates and v else v for k, v in item.items()}
        for item in source[items_key(template)]
    ]
    people = [Recipient(**r) for r in source[template.plan.recipients_sheet.casefold()]]
    write_plan_workbook(target, template, source["settings"], people, items)
    return template


def unseal(path: Path) -> None:
    """Take the seal off a sample return (both copies of the metadata), as a workbook made
    before seals. The seal's key is the scratch plan folder's, which no copy of the sample
    (`xlplan demo`) has: unsealed, the return is collected in any copy, with a note."""
    book = openpyxl.load_workbook(path)
    name = PREFIX + SEAL
    for prop in [p for p in book.custom_doc_props.props if p.name == name]:
        book.custom_doc_props.props.remove(prop)
    sheet = book[SHEET]
    for row in range(sheet.max_row, 0, -1):
        if sheet.cell(row, 1).value == SEAL:
            sheet.delete_rows(row)
    book.save(path)


def build_sample(sample: Sample) -> None:
    template = write_sample_plan(sample.root / "plan.xlsx", sample)
    _, returns = load_sources(sample)
    with tempfile.TemporaryDirectory() as tmp:
        folder = PlanFolder(Path(tmp))
        folder.make_dirs()
        shutil.copy(sample.root / "plan.xlsx", folder.plan_file)
        plan = load_plan(folder)
        for cycle, meeting in sample.cycles.items():
            result = generate(plan, cycle, spg_date=meeting, deadline=None)
            out_dir = sample.root / "returns" / cycle
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
            sent_this_cycle = returns.get(cycle) or {}
            for who, path, _ in result.files:
                if who not in sent_this_cycle:
                    continue  # this recipient sends nothing this cycle
                sent = sent_this_cycle[who] or {}
                target = out_dir / sample.file_name(who, cycle)
                fill_return(path, target, template, sent.get(items_key(template)) or {}, sent.get("feedback"))
                unseal(target)
                shutil.copy(target, folder.returns_dir / target.name)
            collect(plan, cycle=cycle, render=False)
            print(f"{sample.folder} {cycle}: {len(list(out_dir.iterdir()))} returns in {out_dir}")


def build(names: list[str] | None = None) -> None:
    for name in names or list(SAMPLES):
        build_sample(SAMPLES[name])


if __name__ == "__main__":
    build(sys.argv[1:] or None)
