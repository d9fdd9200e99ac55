"""The paper's charts as PNG pictures, drawn from its content (`paper_sections.Chart`):
the same pictures in the Word paper, the HTML report and the SPG email."""

from __future__ import annotations

from xlplan.charts import Series, stacked_bars
from xlplan.look import NAVY, WHITE
from xlplan.paper import Paper

NO_UPDATE_FILL = "#D9D9D9"


def chart_title(paper: Paper, kind: str) -> str:
    """What a chart of this kind shows, in the template's words: its title and its alt text."""
    if kind == "groups":
        return f"{paper.status_label} by {paper.group_label}"
    return f"{paper.status_label} over the plan's life"


def chart_png(paper: Paper, kind: str) -> bytes | None:
    """The chart a `Chart` block of this `kind` shows, as a PNG; None when it has nothing to draw."""
    fills = [paper.colours.get(s, (NAVY, WHITE))[0] for s in paper.statuses]
    if kind == "groups":
        rows = paper.status_rows[:-1]  # not the total
        categories = [str(r[0]) or "(none)" for r in rows]
        columns = range(1, len(paper.statuses) + 2)  # the statuses, then no update
        horizontal = True
    else:
        rows = [[c, *[counts.get(s, 0) for s in paper.statuses], counts.get("", 0)] for c, counts in paper.history]
        categories = [str(r[0]) for r in rows]
        columns = range(1, len(paper.statuses) + 2)
        horizontal = False
    if not rows:
        return None
    names = [*paper.statuses, "No update"]
    series = [
        Series(name, fill, [int(r[c]) for r in rows])
        for c, name, fill in zip(columns, names, [*fills, NO_UPDATE_FILL], strict=True)
        if any(int(r[c]) for r in rows)
    ]
    return stacked_bars(categories, series, chart_title(paper, kind), horizontal=horizontal)
