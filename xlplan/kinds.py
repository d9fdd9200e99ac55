"""One class per summary kind: the cycle's report built once, then rendered everywhere.

A template's ``summary.kind`` says what its returns add up to: ``status`` (one status
per item: counts by group, attention, completed; the paper of ``paper.py``) or
``distribution`` (many respondents rate each item: ``ratings.py``). Each kind here
builds its report and renders it as text, Markdown, HTML, a Word document, JSON and
the meeting's email body, so `xlplan report`, the emails, the master (`cycle_ratings`)
and anything else that shows a cycle never ask which kind they hold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from xlplan.errors import UsageError
from xlplan.ledger import Ledger
from xlplan.paper import Paper, build_paper
from xlplan.plan import Plan
from xlplan.ratings import Ratings, distribution
from xlplan.report import ChartSource
from xlplan.summary import Summary
from xlplan.words import Words


class CycleReport(ABC):
    """A cycle's report in one summary kind's terms."""

    words: Words

    @property
    @abstractmethod
    def cycle(self) -> str: ...

    @property
    @abstractmethod
    def plan_title(self) -> str: ...

    @property
    @abstractmethod
    def meeting_date(self) -> date | None: ...

    @abstractmethod
    def text(self, *, officer: bool = False) -> str: ...

    @abstractmethod
    def markdown(self, *, officer: bool = False) -> str: ...

    @abstractmethod
    def html(self, *, standalone: bool = True, officer: bool = False, chart_src: ChartSource | None = None) -> str:
        """`chart_src` gives each chart picture's src (an email's related part); None: pictures in the file."""

    @abstractmethod
    def as_dict(self) -> dict[str, Any]: ...

    def docx(self, path: Path, *, officer: bool = False) -> None:
        raise UsageError(
            f"--format docx is for plans with a {self.words.status} per {self.words.item} to report; "
            "use --format text, markdown, html or json."
        )

    def render(self, fmt: str, *, officer: bool = False) -> str:
        """`fmt` is text, markdown, html or json."""
        if fmt == "json":
            import json

            return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"
        if fmt == "markdown":
            return self.markdown(officer=officer)
        if fmt == "html":
            return self.html(officer=officer)
        return self.text(officer=officer)


@dataclass
class StatusReport(CycleReport):
    """`summary.kind: status`: the paper (status by group, attention, completed, overdue, ...)."""

    paper: Paper
    words: Words

    @property
    def cycle(self) -> str:
        return self.paper.cycle

    @property
    def plan_title(self) -> str:
        return self.paper.plan_title

    @property
    def meeting_date(self) -> date | None:
        return self.paper.spg_date

    def text(self, *, officer: bool = False) -> str:
        from xlplan.report import to_text

        return to_text(self.paper, officer=officer)

    def markdown(self, *, officer: bool = False) -> str:
        from xlplan.report import to_markdown

        return to_markdown(self.paper, officer=officer)

    def html(self, *, standalone: bool = True, officer: bool = False, chart_src: ChartSource | None = None) -> str:
        from xlplan.report import embedded, to_html

        return to_html(self.paper, standalone=standalone, officer=officer, chart_src=chart_src or embedded)

    def as_dict(self) -> dict[str, Any]:
        return self.paper.as_dict()

    def docx(self, path: Path, *, officer: bool = False) -> None:
        from xlplan.report_docx import write_docx

        write_docx(self.paper, path, officer=officer)


@dataclass
class DistributionReport(CycleReport):
    """`summary.kind: distribution`: how the respondents rated each item."""

    ratings: Ratings
    words: Words
    meeting_on: date | None = None

    @property
    def meeting_date(self) -> date | None:
        return self.meeting_on

    @property
    def cycle(self) -> str:
        return self.ratings.cycle

    @property
    def plan_title(self) -> str:
        return self.ratings.plan_title

    def text(self, *, officer: bool = False) -> str:
        from xlplan.ratings import to_text

        return to_text(self.ratings)

    def markdown(self, *, officer: bool = False) -> str:
        from xlplan.ratings import to_markdown

        return to_markdown(self.ratings)

    def html(self, *, standalone: bool = True, officer: bool = False, chart_src: ChartSource | None = None) -> str:
        from xlplan.ratings import to_html

        return to_html(self.ratings, standalone=standalone)

    def as_dict(self) -> dict[str, Any]:
        return self.ratings.as_dict()


def cycle_ratings(plan: Plan, ledger: Ledger, cycle: str) -> Ratings | None:
    """The respondents' ratings where the template's kind is a distribution (the master's
    ratings sheet), else None: the master asks here rather than branching on the kind."""
    return distribution(plan, ledger, cycle) if plan.template.distribution is not None else None


def cycle_report(plan: Plan, ledger: Ledger, cycle: str, today: date, summary: Summary | None = None) -> CycleReport:
    """The cycle's report in its template's summary kind (the one place the kind is asked)."""
    if plan.template.distribution is not None:
        info = ledger.cycle(cycle)
        return DistributionReport(
            distribution(plan, ledger, cycle), plan.words, meeting_on=info.spg_date if info else None
        )
    return StatusReport(build_paper(plan, ledger, cycle, today, summary), plan.words)
