"""The `distribution` summary: many respondents rate every item on an ordered scale.

A template declares it (any template may)::

    summary:
      kind: distribution
      column: rating                     # an editable choice column: its list, in order, is the scale
      collate: [evidence, improvement]   # editable text gathered with respondents' names
      nonresponse_flag: 0.5              # flag when this share of those asked gave no rating
      split_flag: {spread: 2, majority: 0.5}

Per item, from the plan and the ledger only: how many respondents chose each level;
who gave no rating (their merged return left it blank) and who sent no merged return
at all (both are non-response, which is itself information); the median level (by the
scale's order; the lower of the two middle ratings when their number is even) and the
modal level(s); the collated text; and flags for high non-response and split opinion
(ratings `spread` or more levels apart, or no level with more than `majority` of them).
Items the rows sheet's `locked_rows` lock are listed with their note and never flagged.

`add_ratings_sheet` adds a computed `Ratings` as a sheet of the master tracker; `to_text`,
`to_markdown` and `to_html` give it for `xlplan report`. All text from returns is
untrusted: written with `write_string`, escaped in Markdown and HTML.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

from xlsxwriter.workbook import Workbook

from xlplan.errors import TemplateError
from xlplan.gaps import expected_recipients, merged_recipients
from xlplan.ledger import Ledger
from xlplan.look import (
    BORDER,
    CELL,
    FLAG,
    GREY_TEXT,
    HEAD,
    NAVY,
    OFF_FILL,
    SUBTITLE,
    TEAL,
    TITLE,
    print_setup,
    row_height,
)
from xlplan.plan import Plan
from xlplan.sheetxml import cut, fits
from xlplan.template import DistributionSummary, Template
from xlplan.text import markdown_text
from xlplan.values import clean_text

MAX_CELL = 32_000  # a margin under Excel's 32,767 a cell, counted as Excel counts (sheetxml.fits)
ONE_LINE = 16.5  # the height row_height leaves to the default: these rows are always set


@dataclass(frozen=True)
class Flag:
    kind: str  # "nonresponse" | "split"
    detail: str

    def __str__(self) -> str:
        label = {"nonresponse": "High non-response", "split": "Split opinion"}.get(self.kind, self.kind)
        return f"{label}: {self.detail}"


@dataclass
class ItemRatings:
    """One item (a proposal): its ratings across respondents."""

    ref: str
    title: str
    group: str
    locked: bool = False  # locked by the rows sheet's locked_rows: not rated at all
    note: str = ""
    asked: list[str] = field(default_factory=list)  # respondents who owe a rating
    ratings: dict[str, str] = field(default_factory=dict)  # respondent -> level
    blank: list[str] = field(default_factory=list)  # merged return, no rating
    missing: list[str] = field(default_factory=list)  # no merged return
    counts: dict[str, int] = field(default_factory=dict)  # level -> count, every level
    median: str | None = None
    modal: tuple[str, ...] = ()
    collated: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # field -> [(respondent, text)]
    flags: list[Flag] = field(default_factory=list)

    @property
    def rated(self) -> int:
        return len(self.ratings)

    @property
    def nonresponse(self) -> int:
        return len(self.blank) + len(self.missing)

    @property
    def nonresponse_share(self) -> float:
        return self.nonresponse / len(self.asked) if self.asked else 0.0

    def flagged(self, kind: str) -> bool:
        return any(f.kind == kind for f in self.flags)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["modal"] = list(self.modal)
        out["flags"] = [{"kind": f.kind, "detail": f.detail} for f in self.flags]
        out["collated"] = {k: [{"respondent": who, "text": t} for who, t in v] for k, v in self.collated.items()}
        out["rated"] = self.rated
        out["nonresponse"] = self.nonresponse
        return out


@dataclass
class Ratings:
    """The distribution summary of one cycle."""

    plan_title: str
    cycle: str
    spec: DistributionSummary
    header: str  # the rated column's header ("Our rating")
    levels: list[str]  # the scale, lowest first
    colours: dict[str, tuple[str, str]]  # level -> (fill, font)
    collate: list[tuple[str, str]]  # (column key, header)
    title_header: str
    group_header: str
    recipient_label: str
    respondents: list[str]  # everyone who owes a return
    returned: list[str]  # of those, whose return is merged
    items: list[ItemRatings] = field(default_factory=list)

    @property
    def no_return(self) -> list[str]:
        got = set(self.returned)
        return [r for r in self.respondents if r not in got]

    @property
    def flagged(self) -> list[ItemRatings]:
        return [i for i in self.items if i.flags]

    def as_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "column": self.spec.column,
            "levels": self.levels,
            "respondents": self.respondents,
            "returned": self.returned,
            "no_return": self.no_return,
            "items": [i.as_dict() for i in self.items],
        }


def distribution_spec(template: Template) -> DistributionSummary:
    if template.distribution is None:
        raise TemplateError(
            f"Template {template.name} has no distribution summary (summary: {{kind: distribution, column: ...}})."
        )
    return template.distribution


def median_level(indices: list[int], levels: list[str]) -> str | None:
    """The middle rating in scale order; the lower of the two middle ones for an even count."""
    if not indices:
        return None
    ordered = sorted(indices)
    return levels[ordered[(len(ordered) - 1) // 2]]


def modal_levels(counts: dict[str, int], levels: list[str]) -> tuple[str, ...]:
    """The most chosen level(s), in scale order (several when tied); none without ratings."""
    top = max(counts.values(), default=0)
    return tuple(level for level in levels if top and counts.get(level, 0) == top)


def flags_for(item: ItemRatings, levels: list[str], spec: DistributionSummary) -> list[Flag]:
    """High non-response and split opinion, as the spec defines them."""
    flags: list[Flag] = []
    threshold = spec.nonresponse_flag
    if threshold is not None and item.asked and item.nonresponse and item.nonresponse_share >= threshold:
        parts = []
        if item.blank:
            parts.append(f"{len(item.blank)} left it blank")
        if item.missing:
            parts.append(f"{len(item.missing)} sent no return")
        flags.append(
            Flag("nonresponse", f"{item.nonresponse} of {len(item.asked)} gave no rating ({', '.join(parts)})")
        )
    if item.rated >= 2:
        indices = [levels.index(v) for v in item.ratings.values()]
        reasons = []
        spread = spec.split_flag.spread
        if spread is not None and max(indices) - min(indices) >= spread:
            reasons.append(f"ratings range from {levels[min(indices)]} to {levels[max(indices)]}")
        majority = spec.split_flag.majority
        if majority is not None and max(item.counts.values()) / item.rated <= majority:
            reasons.append(f"no level has more than {majority:.0%} of the {item.rated} ratings")
        if reasons:
            flags.append(Flag("split", "; ".join(reasons)))
    return flags


def distribution(plan: Plan, ledger: Ledger, cycle: str) -> Ratings:
    """Per item, the spread of ratings across respondents for `cycle`, from the ledger."""
    template = plan.template
    spec = distribution_spec(template)
    sheet = template.rows_sheet
    column = sheet.column(spec.column)
    assert column is not None and column.choices  # checked when the template was loaded
    choices = template.choices[column.choices]
    levels = list(choices.names)
    entries = ledger.entries(cycle, sheet.name)
    respondents = expected_recipients(plan, ledger, cycle)
    merged = merged_recipients(ledger, cycle)
    key = template.plan.key
    title_key = template.label_key
    group_key = template.plan.group_by
    collate = [(k, (sheet.column(k) or column).header) for k in spec.collate]
    result = Ratings(
        plan_title=plan.title,
        cycle=cycle,
        spec=spec,
        header=column.header,
        levels=levels,
        colours={c.value: (c.fill, c.font) for c in choices.values},
        collate=collate,
        title_header=_plan_header(template, title_key),
        group_header=_plan_header(template, group_key) if group_key else "",
        recipient_label=template.plan.recipient_label,
        respondents=respondents,
        returned=[r for r in respondents if r in merged],
    )
    expected = set(respondents)
    for item in plan.items:
        ref = item[key]
        row = ItemRatings(
            ref=ref,
            title=clean_text(item.get(title_key)),
            group=clean_text(item.get(group_key)) if group_key else "",
            counts=dict.fromkeys(levels, 0),
        )
        result.items.append(row)
        if sheet.row_locked(item):
            row.locked = True
            row.note = sheet.locked_rows.note if sheet.locked_rows else ""
            continue
        row.asked = [r for r in plan.recipients_of(item) if r in expected]
        for who in row.asked:
            if who not in merged:
                row.missing.append(who)
                continue
            values = entries.get((who, ref), {})
            level = values.get(spec.column)
            if level in row.counts:
                row.ratings[who] = level
                row.counts[level] += 1
            else:
                row.blank.append(who)  # blank (an unknown value cannot pass validation)
            for fkey, _ in collate:
                text = clean_text(values.get(fkey))
                if text:
                    row.collated.setdefault(fkey, []).append((who, text))
        row.median = median_level([levels.index(v) for v in row.ratings.values()], levels)
        row.modal = modal_levels(row.counts, levels)
        row.flags = flags_for(row, levels, spec)
    return result


def _plan_header(template: Template, key: str) -> str:
    col = next((c for c in template.plan.columns if c.key == key), None)
    return col.header if col else key


# --- the master tracker sheet ---------------------------------------------------------


def add_ratings_sheet(book: Workbook, r: Ratings) -> None:
    """Add the distribution summary (computed with the master's other ledger reads) to a
    master tracker being written with xlsxwriter."""
    ws = book.add_worksheet(r.spec.sheet)
    base = CELL
    title = book.add_format(TITLE)
    subtitle = book.add_format(SUBTITLE)
    head = book.add_format({**HEAD, "bg_color": NAVY})
    head_text = book.add_format({**HEAD, "bg_color": TEAL})
    text = book.add_format({**base, "text_wrap": True})
    number = book.add_format({**base, "num_format": "0", "align": "center"})
    flag = book.add_format({**base, "text_wrap": True, "bold": True, "bg_color": FLAG})
    off = book.add_format({**base, "text_wrap": True, "italic": True, "bg_color": OFF_FILL, "font_color": GREY_TEXT})
    level_head = {
        lv: book.add_format({**base, "bold": True, "text_wrap": True, "bg_color": fill, "font_color": font})
        for lv, (fill, font) in r.colours.items()
    }
    level_cell = {
        lv: book.add_format({**base, "bold": True, "bg_color": fill, "font_color": font})
        for lv, (fill, font) in r.colours.items()
    }

    columns: list[tuple[str, float, Any]] = [
        ("Ref", 7, head),
        (r.group_header or "Group", 20, head),
        (r.title_header, 40, head),
        ("Asked", 7, head),
        ("Rated", 7, head),
        *[(lv, 11, level_head[lv]) for lv in r.levels],
        ("No rating", 8, head),
        ("No return", 8, head),
        ("Median", 15, head),
        ("Most common", 15, head),
        ("Flags", 32, head),
        *[(h, 60, head_text) for _, h in r.collate],
    ]
    ws.write_string(0, 0, f"{r.plan_title}: {r.header}, {r.cycle}", title)
    ws.write_string(1, 0, _returns_line(r), subtitle)
    ws.write_string(
        2,
        0,
        "Median: the middle rating in level order (the lower of the two middle ones when their number is even). "
        "No rating: returned without a rating. No return: no return merged.",
        subtitle,
    )
    header_row = 3
    for c, (label, width, fmt) in enumerate(columns):
        ws.set_column(c, c, width)
        ws.write_string(header_row, c, label, fmt)
    ws.set_row(header_row, 30)
    row = header_row
    for item in r.items:
        row += 1
        ws.write_string(row, 0, item.ref, off if item.locked else text)
        ws.write_string(row, 1, item.group, off if item.locked else text)
        ws.write_string(row, 2, item.title, off if item.locked else text)
        if item.locked:
            for c in range(3, len(columns)):
                ws.write_blank(row, c, None, off)
            ws.write_string(row, 5 + len(r.levels) + 4, item.note or "Locked: not rated.", off)
            ws.set_row(row, row_height([(item.title, 40)]) or ONE_LINE)
            continue
        values: list[Any] = [len(item.asked), item.rated, *[item.counts[lv] for lv in r.levels]]
        values += [len(item.blank), len(item.missing)]
        for c, v in enumerate(values, start=3):
            ws.write_number(row, c, v, number)
        c = 3 + len(values)
        if item.median:
            ws.write_string(row, c, item.median, level_cell[item.median])
        else:
            ws.write_blank(row, c, None, text)
        ws.write_string(row, c + 1, " / ".join(item.modal), text)
        ws.write_string(row, c + 2, "\n".join(str(f) for f in item.flags), flag if item.flags else text)
        texts = [(item.title, 40), ("\n".join(str(f) for f in item.flags), 32)]
        for n, (fkey, _) in enumerate(r.collate):
            body = _collated_text(item.collated.get(fkey, []))
            ws.write_string(row, c + 3 + n, body, text)
            texts.append((body, 60))
        ws.set_row(row, row_height(texts) or ONE_LINE)
    last = max(row, header_row + 1)
    ws.autofilter(header_row, 0, last, len(columns) - 1)
    ws.freeze_panes(header_row + 1, 3)
    print_setup(ws, margins=False)  # no page header: unlike the master's other sheets (as it always was)
    ws.repeat_rows(header_row)


def _returns_line(r: Ratings) -> str:
    line = f"{len(r.returned)} of {len(r.respondents)} {r.recipient_label}s returned"
    if r.no_return:
        line += f"; no return from {', '.join(r.no_return)}"
    flagged = r.flagged
    if flagged:
        line += f". Flagged: {', '.join(i.ref for i in flagged)}"
    return line + "."


def _collated_text(entries: list[tuple[str, str]]) -> str:
    body = "\n\n".join(f"{who}: {text}" for who, text in entries)
    return body if fits(body, MAX_CELL) else cut(body, MAX_CELL - 20) + " ... (truncated)"


# --- text, Markdown and HTML for `xlplan report` -------------------------------------


def _counts_text(r: Ratings, item: ItemRatings) -> str:
    return ", ".join(f"{lv} {item.counts[lv]}" for lv in r.levels)


def to_text(r: Ratings) -> str:
    out = [f"{r.plan_title}: {r.header}, {r.cycle}", _returns_line(r), ""]
    for item in r.items:
        out.append(f"{item.ref}  {item.title}")
        if item.locked:
            out += [f"    {item.note or 'Locked: not rated.'}", ""]
            continue
        out.append(f"    {_counts_text(r, item)}; no rating {len(item.blank)}, no return {len(item.missing)}")
        out.append(f"    Median {item.median or '-'}; most common {' / '.join(item.modal) or '-'}")
        out += [f"    ! {f}" for f in item.flags]
        for fkey, header in r.collate:
            for who, text in item.collated.get(fkey, []):
                out.append(f"    {header} - {who}: {' '.join(text.split())}")
        out.append("")
    return "\n".join(out)


def to_markdown(r: Ratings) -> str:
    levels = " | ".join(markdown_text(lv) for lv in r.levels)
    lines = [
        f"# {markdown_text(r.plan_title)}: {markdown_text(r.header)}, {r.cycle}",
        "",
        markdown_text(_returns_line(r)),
        "",
    ]
    lines += [
        f"| Ref | {markdown_text(r.title_header)} | {levels} | No rating | No return | Median | Most common | Flags |",
        "|" + "---|" * (len(r.levels) + 7),
    ]
    for item in r.items:
        if item.locked:
            blanks = " | ".join("" for _ in r.levels)
            lines.append(
                f"| {markdown_text(item.ref)} | {markdown_text(item.title)} | {blanks} | | | | | {markdown_text(item.note)} |"
            )
            continue
        counts = " | ".join(str(item.counts[lv]) for lv in r.levels)
        flags = "; ".join(markdown_text(f) for f in item.flags)
        lines.append(
            f"| {markdown_text(item.ref)} | {markdown_text(item.title)} | {counts} | {len(item.blank)} | {len(item.missing)} | "
            f"{markdown_text(item.median or '')} | {markdown_text(' / '.join(item.modal))} | {flags} |"
        )
    for item in r.items:
        notes = [(h, who, t) for k, h in r.collate for who, t in item.collated.get(k, [])]
        if not notes:
            continue
        lines += ["", f"## {markdown_text(item.ref)} {markdown_text(item.title)}", ""]
        lines += [f"- **{markdown_text(h)}**, {markdown_text(who)}: {markdown_text(t)}" for h, who, t in notes]
    return "\n".join(lines) + "\n"


def to_html(r: Ratings, *, standalone: bool = True) -> str:
    e = html.escape
    cell = f"border:1px solid {BORDER.lower()};padding:4px 8px;vertical-align:top;"
    heads = [f'<th style="{cell}background:{NAVY};color:#fff">{e(h)}</th>' for h in ("Ref", r.title_header)]
    heads += [f'<th style="{cell}background:{f};color:{c}">{e(lv)}</th>' for lv, (f, c) in r.colours.items()]
    heads += [
        f'<th style="{cell}background:{NAVY};color:#fff">{e(h)}</th>'
        for h in ("No rating", "No return", "Median", "Most common", "Flags")
    ]
    body = []
    for item in r.items:
        tds = [f'<td style="{cell}">{e(item.ref)}</td>', f'<td style="{cell}">{e(item.title)}</td>']
        if item.locked:
            tds.append(f'<td style="{cell}background:{OFF_FILL}" colspan="{len(r.levels) + 5}">{e(item.note)}</td>')
        else:
            tds += [f'<td style="{cell}text-align:right">{item.counts[lv]}</td>' for lv in r.levels]
            tds += [
                f'<td style="{cell}text-align:right">{len(item.blank)}</td>',
                f'<td style="{cell}text-align:right">{len(item.missing)}</td>',
                f'<td style="{cell}">{e(item.median or "")}</td>',
                f'<td style="{cell}">{e(" / ".join(item.modal))}</td>',
                f'<td style="{cell}{"background:" + FLAG if item.flags else ""}">'
                + "<br>".join(e(str(f)) for f in item.flags)
                + "</td>",
            ]
        body.append("<tr>" + "".join(tds) + "</tr>")
    parts = [
        f'<h2 style="font-family:Arial,sans-serif;color:{NAVY}">{e(r.plan_title)}: {e(r.header)}, {e(r.cycle)}</h2>',
        f'<p style="font-family:Arial,sans-serif">{e(_returns_line(r))}</p>',
        '<table style="border-collapse:collapse;font-family:Arial,sans-serif;font-size:10pt">'
        f"<tr>{''.join(heads)}</tr>{''.join(body)}</table>",
    ]
    for item in r.items:
        notes = [(h, who, t) for k, h in r.collate for who, t in item.collated.get(k, [])]
        if notes:
            parts.append(f'<h3 style="font-family:Arial,sans-serif">{e(item.ref)} {e(item.title)}</h3>')
            parts.append(
                '<ul style="font-family:Arial,sans-serif">'
                + "".join(f"<li><b>{e(h)}</b>, {e(who)}: {e(t)}</li>" for h, who, t in notes)
                + "</ul>"
            )
    content = "\n".join(parts)
    if not standalone:
        return content
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(r.plan_title)} {e(r.cycle)}</title>'
        f"</head><body>\n{content}\n</body></html>\n"
    )
