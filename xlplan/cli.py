"""The `xlplan` command: a thin click layer over the library.

Each command parses options, calls one library function, prints the result and
chooses the exit code. Library exceptions (XlplanError) become ``Error: ...``
here and nowhere else.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from xlplan import __version__
from xlplan.errors import XlplanError

F = TypeVar("F", bound=Callable[..., Any])


def _date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    from xlplan.values import parse_date

    try:
        parsed = parse_date(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise click.BadParameter(f"'{value}' is not a date; use 2025-10-02 or 02/10/2025.", param=param)
    return parsed


def reports_errors(func: F) -> F:
    """Turn our own exceptions into 'Error: ...' and their exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except XlplanError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def _folder(ctx: click.Context) -> Any:
    from xlplan.plan import find_folder

    return find_folder(ctx.obj["plan"])


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
    Start with `xlplan demo` to see the whole cycle on a sample plan.
    """
    ctx.obj = {"plan": plan_dir}


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--template", default="implementation-plan", show_default=True, help="The kind of return.")
@click.option("--title", default="", help="The plan's title (you can also type it into plan.xlsx).")
@reports_errors
def init(directory: Path, template: str, title: str) -> None:
    """Create a new plan folder DIRECTORY with an empty plan.xlsx to fill in."""
    from xlplan.plan import init_folder

    folder = init_folder(directory, template, title)
    click.echo(f"Created plan folder {folder.root}")
    click.echo(f"Next: fill in {folder.plan_file} (Settings, Sponsors, Actions), then run `xlplan generate`.")


@main.command()
@click.option("--cycle", required=True, help="The reporting cycle, e.g. 2025-Q3.")
@click.option("--spg-date", callback=_date, help="Date of the SPG meeting; returns are due 3 weeks before.")
@click.option("--deadline", callback=_date, help="Return deadline, if not 3 weeks before the SPG date.")
@click.option("--sponsor", "only", multiple=True, help="Only this sponsor (repeat for several).")
@click.option("--password", envvar="XLPLAN_SHEET_PASSWORD", help="Password for sheet protection (or set XLPLAN_SHEET_PASSWORD).")
@click.pass_context
@reports_errors
def generate(
    ctx: click.Context, cycle: str, spg_date: date | None, deadline: date | None,
    only: tuple[str, ...], password: str | None,
) -> None:
    """Write one return workbook per sponsor for CYCLE into outgoing/<cycle>/."""
    from xlplan.generate import generate as run
    from xlplan.plan import load_plan

    plan = load_plan(_folder(ctx))
    result = run(plan, cycle, spg_date=spg_date, deadline=deadline, password=password, only=list(only) or None)
    for who, why in result.skipped:
        click.echo(f"Warning: no workbook for {who}: {why}.", err=True)
    assert result.deadline is not None and result.outbox is not None
    click.echo(f"Wrote {len(result.files)} workbook(s) for {cycle} to {result.outbox}:")
    for who, path, n in result.files:
        click.echo(f"  {path.name}  ({who}, {n} action{'s' if n != 1 else ''})")
    click.echo(f"Return deadline: {result.deadline.strftime('%A %d %B %Y')}.")


@main.command()
@click.argument("source", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--cycle", help="The cycle to collect (default: the latest generated).")
@click.option("--prefer", help="When a sponsor sent two returns: 'newest', or the file name to use.")
@click.option("--dry-run", is_flag=True, help="Check and report exactly as a real run would, changing nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome of each return and the gaps as JSON.")
@click.pass_context
@reports_errors
def collect(ctx: click.Context, source: Path | None, cycle: str | None, prefer: str | None,
            dry_run: bool, as_json: bool) -> None:
    """Read, check and merge the returned workbooks in SOURCE (default: the plan's returns/ folder).

    \b
    Exit code 0: every return merged clean.
              1: a return was quarantined, conflicted or had errors.
              2: the command was used wrongly.
    """
    from xlplan.collect import collect as run
    from xlplan.console import print_collected, progress_bar
    from xlplan.plan import load_plan

    plan = load_plan(_folder(ctx))
    with progress_bar(enabled=not as_json) as tick:
        result = run(plan, cycle=cycle, source=source, prefer=prefer, dry_run=dry_run, progress=tick)
    if as_json:
        import json

        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_collected(result, plan)
    sys.exit(0 if result.ok else 1)


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@reports_errors
def demo(directory: Path | None) -> None:
    """Run the whole cycle on the bundled sample plan in DIRECTORY (default: ./xlplan-demo)."""
    from xlplan.demo import run_demo

    run_demo(directory or Path("xlplan-demo"), echo=click.echo)


if __name__ == "__main__":  # pragma: no cover
    main()
