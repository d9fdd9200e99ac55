"""The `xlplan` command: a thin click layer over the library.

Each command parses options, calls one library function, prints the result and
chooses the exit code. Library exceptions (XlplanError) become ``Error: ...``
here and nowhere else (`xlplan.cli.shared`). This module holds the `main` group; each family
of commands has a module of its own.
"""

from __future__ import annotations

from pathlib import Path

import click

from xlplan import __version__
from xlplan.cli.cycle import collect, generate, status
from xlplan.cli.ledger import backups, check, cycles
from xlplan.cli.mail import email
from xlplan.cli.reporting import export, report
from xlplan.cli.start import demo, init


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="xlplan")
@click.option(
    "--plan",
    "plan_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default="the current folder or its nearest parent with a plan.xlsx",
    help="The plan folder to work in.",
)
@click.pass_context
def main(ctx: click.Context, plan_dir: Path) -> None:
    """Run a strategic plan's quarterly reporting cycle through Excel.

    \b
    Each quarter, inside the plan folder:
      xlplan generate --cycle 2025-Q3 --spg-date 2025-10-02   workbooks to send
      xlplan collect                                          merge what came back
      xlplan status                                           where the cycle is
      xlplan email issue                                      email each sponsor their workbook
      xlplan email chase / xlplan email spg                   chase sponsors, send the pack
      xlplan cycles                                           every cycle, and which is current
    Start with `xlplan demo` to see the whole cycle on a sample plan.

    The current cycle is the latest one generated (2024-Q1 once it is generated, even
    while 2023-Q4's returns are still coming in). status, report, email and collect work
    on it unless given --cycle, and the master tracker always shows it.
    """
    ctx.obj = {"plan": plan_dir}


for command in (init, generate, collect, status, report, export, email, cycles, backups, check, demo):
    main.add_command(command)
