"""Per-file work spread over the machine's cores: a process pool when it pays, this process when not.

Reading and checking returns, and writing workbooks, are pure Python per file, so
threads would share one core; processes do not. On Linux the workers are forked, so
they start in milliseconds and inherit the plan already in memory; elsewhere
(Windows, macOS) they are spawned and receive it once each, pickled.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

from xlplan.errors import XlplanError

T = TypeVar("T")
R = TypeVar("R")

MAX_JOBS = 8  # past this, the single-threaded steps around the per-file work dominate
# Fewer files than this are done in this process: a council's handful gains nothing from
# workers, and on Windows each spawned worker spends a second importing pandas anew.
PARALLEL_FROM_FILES = 16

_CONTEXT: Any = None  # what every task of a worker shares (the plan), installed once per worker


class WorkerError(XlplanError):
    """A worker process died (out of memory, killed). Its message says what was left as it
    was: the ledger is written only after the workers that read and check have finished."""


UNCHANGED = "the ledger was not changed"


@contextmanager
def settled() -> Iterator[Callable[[], None]]:
    """Keep what is alive out of the cyclic garbage collector's scans until the block ends.

    A collect run holds the plan, the returns and the ledger's values for its whole
    length (millions of objects at national scale) and each full collection would walk
    them all again: measured at about a tenth of the run. Call the function given at
    each point where more long-lived data has been built.
    """
    gc.freeze()
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during a bounded piece of work (a worker's share of the
    returns or workbooks): measured at ~10% of its time. What it leaves is collected after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def default_jobs() -> int:
    """The cores this process may use (a container or `taskset` may allow fewer than the machine has)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # Windows, macOS
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_JOBS))


def map_tasks(
    fn: Callable[[Any, T], R],
    context: Any,
    tasks: Sequence[T],
    jobs: int,
    if_lost: str = UNCHANGED,
) -> Iterator[R]:
    """fn(context, task) for every task, results in task order.

    `fn` must be a module-level function (it is sent to the workers by name). With one
    job or one task everything runs here, with no pool to start.
    """
    with running(fn, context, tasks, jobs, if_lost) as results:
        yield from results


@contextmanager
def running(
    fn: Callable[[Any, T], R], context: Any, tasks: Sequence[T], jobs: int, if_lost: str = UNCHANGED
) -> Iterator[Iterator[R]]:
    """As `map_tasks`, with the workers started on entering the block, so this process can
    do other work before it takes the results. With one job or one task nothing starts
    early: the tasks run here as the results are taken."""
    if jobs <= 1 or len(tasks) <= 1:
        yield (fn(context, task) for task in tasks)
        return
    with started(fn, context, tasks, jobs, if_lost) as results:
        yield results


@contextmanager
def started(
    fn: Callable[[Any, T], R], context: Any, tasks: Sequence[T], jobs: int, if_lost: str = UNCHANGED
) -> Iterator[Iterator[R]]:
    """Start fn(context, task) for every task in `jobs` worker processes now; the results
    (in task order) can be taken later, while this process does other work meanwhile.
    `if_lost` tells the user what a dead worker leaves as it was."""
    if not tasks:
        yield iter(())
        return
    workers = min(jobs, len(tasks))
    with ProcessPoolExecutor(workers, mp_context=_start_method(), initializer=_install, initargs=(context,)) as pool:
        futures = [pool.submit(_call, fn, task) for task in tasks]

        def results() -> Iterator[R]:
            try:
                for future in futures:
                    yield future.result()
            except BrokenProcessPool as exc:
                raise WorkerError(
                    f"A worker process stopped unexpectedly (out of memory?); {if_lost}. "
                    "Run the command again, with --jobs 1 to use a single process."
                ) from exc

        yield results()


def worth_sharing(count: int, jobs: int) -> bool:
    """Whether `count` files are enough to share out between `jobs` processes."""
    return jobs > 1 and count >= PARALLEL_FROM_FILES


def chunks(items: Sequence[T], jobs: int, per_job: int = 4) -> list[list[T]]:
    """`items` cut into about `per_job` pieces per job (one piece when not worth sharing):
    small enough to share the work out evenly, large enough that each piece's fixed cost
    is paid rarely."""
    if not items:
        return []
    count = min(len(items), jobs * per_job) if worth_sharing(len(items), jobs) else 1
    size = -(-len(items) // count)
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _start_method() -> Any:
    """Fork on Linux (fast, and the plan is inherited); the platform's default elsewhere:
    spawn on Windows and macOS, where `context` is pickled to each worker."""
    return multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None


def _install(context: Any) -> None:
    global _CONTEXT
    _CONTEXT = context
    _die_with_parent()
    # Ctrl+C is the parent's to answer (with one plain message): a worker printing its own
    # KeyboardInterrupt traceback would bury it.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _die_with_parent() -> None:
    """A forked worker keeps its own copy of the pipe it waits on, so it would outlive a
    killed parent forever: on Linux, ask the kernel to end it with its parent. (Spawned
    workers on Windows and macOS see their pipe close and stop.)"""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    parent = multiprocessing.parent_process()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if parent is not None and os.getppid() != parent.pid:  # it died before the call
            os._exit(1)


def _call(fn: Callable[[Any, T], R], task: T) -> R:
    return fn(_CONTEXT, task)
