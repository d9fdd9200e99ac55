"""What every command shares: turning failures into ``Error: ...`` and an exit code, the plan
folder a command works in, write access to it, and the options several commands take."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def date_option(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
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
    """Turn every failure into 'Error: ...' and its exit code: never a traceback.

    Our own exceptions (XlplanError) say what to do; a full disk, a read-only folder, a file
    held by another program and the like become plain messages naming the file (`failures`);
    Ctrl+C says the run was interrupted; anything else is a fault in xlplan, whose traceback
    goes to a log file in the plan folder, named in the message.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from xlplan import failures

        try:
            return func(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo(f"Error: {failures.INTERRUPTED}", err=True)
            sys.exit(failures.INTERRUPTED_EXIT)
        except Exception as exc:
            root = plan_root()
            plain = failures.explain(exc, root / "ledger.sqlite" if root else None)
            if plain is None:
                log = failures.crash_log(exc, root)
                click.echo(f"Error: {failures.unexpected_message(exc, log)}", err=True)
                sys.exit(1)
            if root is not None:
                from xlplan.backups import restore_hint
                from xlplan.plan_folder import PlanFolder

                plain = failures.with_restore_hint(plain, restore_hint(PlanFolder(root)))
            click.echo(f"Error: {plain}", err=True)
            sys.exit(plain.exit_code)

    return wrapper  # type: ignore[return-value]


def plan_root() -> Path | None:
    """The plan folder of the command running, when there is one (for the log of an unexpected error)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    if not isinstance(obj, dict) or "plan" not in obj:
        return None
    try:
        from xlplan.plan_folder import find_folder

        return find_folder(obj["plan"]).root
    except Exception:
        return None


def note(text: str) -> None:
    click.echo(f"Note: {text}", err=True)


def write_access(ctx: click.Context, command: str) -> Any:
    """Hold the plan folder for a write command (lock, backup, ...), printing what the officer should know."""
    from xlplan.access import writing

    return writing(plan_folder(ctx), command, notify=note)


def plan_folder(ctx: click.Context) -> Any:
    from xlplan.plan_folder import find_folder

    return find_folder(ctx.obj["plan"])


def jobs_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        envvar="XLPLAN_JOBS",
        show_default="one per core",
        help=f"How many processes {what} at once (1: this process only; or set XLPLAN_JOBS).",
    )


def cycle_summary(ctx: click.Context, cycle: str | None) -> Any:
    from xlplan.access import reading
    from xlplan.cycles import chosen_cycle
    from xlplan.plan import load_plan
    from xlplan.summary import summarise

    plan = load_plan(plan_folder(ctx))
    with reading(plan.folder) as ledger:
        return plan, summarise(plan, ledger, chosen_cycle(ledger, cycle), date.today())
