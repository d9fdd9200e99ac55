"""What things are called: the words every message, table and email uses for a plan.

Two sources, so no shared code speaks one kind of return's or one body's language:

- the template's ``words:`` section says what its return, an item, a recipient, a group
  and the status are called (each optional, with defaults worked out from the template:
  the items sheet's name, ``plan.recipient_label``, the group column's header, the status
  column's header, the ``summary.attention`` statuses);
- the plan's Settings sheet says what belongs to one body: the meeting the returns are for
  (its name and short name), the body's own name for the return, a reference to its own
  procedure, and how a message addresses a recipient ("Dear").

Template texts (title, sheet and column help) may name the Settings words in braces,
``{meeting}``, ``{meeting_short}`` and ``{procedure}``: `localise` fills them in when the
plan is read, so one template serves every body.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from xlplan.template import Template

# The defaults when a plan's Settings leave a body's word blank: plain, any body's.
DEFAULT_MEETING = "meeting"
DEFAULT_SALUTATION = "Dear"


@dataclass(frozen=True)
class Words:
    """Every word a message needs, for one plan (template words with the plan's settings)."""

    return_name: str  # "your {return_name} for 2023-Q2"
    item: str  # one plan item
    items: str
    recipient: str  # who gets a workbook
    recipients: str
    group: str  # what a group_by value is called: a table's first header
    status: str  # what the status (or the rating) is called
    attention: str  # the statuses needing attention, as a title ("" when none)
    meeting: str  # the body the returns are for, in full
    meeting_short: str  # the same, short (tables, headers, file names)
    procedure: str  # a reference to the body's own procedure ("" when none)
    salutation: str  # how a message addresses someone: "Dear"

    @classmethod
    def plain(cls) -> Words:
        """Words for no template in particular (a model built by hand, in a test)."""
        return cls(
            "return",
            "item",
            "items",
            "recipient",
            "recipients",
            "Group",
            "status",
            "",
            "meeting",
            "meeting",
            "",
            "Dear",
        )

    def count(self, n: int, what: str = "item") -> str:
        """ "1 action", "10 actions"; `what` is "item" or "recipient"."""
        one, many = (self.item, self.items) if what == "item" else (self.recipient, self.recipients)
        return f"{n} {one if n == 1 else many}"

    @property
    def meeting_heading(self) -> str:
        """The short name as a heading starts: "SPG", "Meeting" (never "Spg")."""
        return self.meeting_short[:1].upper() + self.meeting_short[1:]

    @property
    def meeting_event(self) -> str:
        """ "SPG meeting"; the short name alone when it already says so ("meeting", "development session")."""
        short = self.meeting_short
        return short if short.casefold().endswith(("meeting", "session")) else f"{short} meeting"

    @property
    def for_meeting(self) -> str:
        """ "for the Strategic Planning Group", or "for the meeting" when Settings name none."""
        return f"for the {self.meeting}"

    def dear(self, name: str) -> str:
        return f"{self.salutation} {name}"


def words_for(template: Template, settings: Mapping[str, str]) -> Words:
    """The plan's words: the template's, then what its Settings sheet says of its own body."""
    t = template.words
    meeting = settings.get("meeting") or DEFAULT_MEETING
    return Words(
        return_name=settings.get("return_name") or t.return_name,
        item=t.item,
        items=t.items,
        recipient=t.recipient,
        recipients=t.recipients,
        group=t.group,
        status=t.status,
        attention=t.attention,
        meeting=meeting,
        meeting_short=settings.get("meeting_short") or meeting,
        procedure=settings.get("procedure") or "",
        salutation=settings.get("salutation") or DEFAULT_SALUTATION,
    )


def fill(text: str, words: Words) -> str:
    """A template text with the Settings words put in (only these braces: others stay as written)."""
    if "{" not in text:
        return text
    if not words.procedure:  # "case studies {procedure}." reads "case studies." without one
        text = text.replace(" {procedure}", "")
    return (
        text.replace("{meeting_short}", words.meeting_short)
        .replace("{meeting}", words.meeting)
        .replace("{procedure}", words.procedure)
    )


def localise(template: Template, settings: Mapping[str, str]) -> Template:
    """The template with its texts' Settings words filled in for this plan."""
    words = words_for(template, settings)
    sheets = tuple(
        dataclasses.replace(
            s,
            title=fill(s.title, words),
            help=fill(s.help, words),
            columns=tuple(dataclasses.replace(c, help=fill(c.help, words)) for c in s.columns),
        )
        for s in template.sheets
    )
    return dataclasses.replace(template, title=fill(template.title, words), sheets=sheets)
