"""Starting out: `xlplan init` (a new plan folder) and `xlplan demo` (the whole cycle on the sample plan)."""

from __future__ import annotations

from pathlib import Path

import click

from xlplan.cli.shared import reports_errors


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--template", default="implementation-plan", show_default=True, help="The kind of return.")
@click.option("--title", default="", help="The plan's title (you can also type it into plan.xlsx).")
@reports_errors
def init(directory: Path, template: str, title: str) -> None:
    """Create a new plan folder DIRECTORY with an empty plan.xlsx to fill in."""
    from xlplan.plan_sheets import SETTINGS_SHEET
    from xlplan.plan_workbook import init_folder
    from xlplan.template_load import load_template

    folder = init_folder(directory, template, title)
    spec = load_template(template).plan
    click.echo(f"Created plan folder {folder.root}")
    sheets = f"{SETTINGS_SHEET}, {spec.recipients_sheet}, {spec.items_sheet}"
    click.echo(f"Next: fill in {folder.plan_file} ({sheets}), then run `xlplan generate`.")


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@reports_errors
def demo(directory: Path | None) -> None:
    """Run the whole cycle on the bundled sample plan in DIRECTORY (default: a new ./xlplan-demo folder)."""
    from xlplan.demo import run_demo

    if directory is None:  # a second `xlplan demo` gets a fresh folder rather than an error
        directory = next(
            p for n in range(1, 1000) if not (p := Path("xlplan-demo" + (f"-{n}" if n > 1 else ""))).exists()
        )
    run_demo(directory, echo=click.echo)
