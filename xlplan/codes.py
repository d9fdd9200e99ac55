"""The catalogue of issue codes: every kind of issue a return can get, in one place.

A code is the stable name of a kind of issue (`Issue.code`). Its string is public: it
is in `collect --json`, in the ledger's returns log and in scripts that read either,
so a member's value never changes. Each member also says the severity (or the two
severities) it is reported with and what it means, one line each; docs/bad-returns.md
lists them all (tests/test_codes.py checks that the two agree).

`Code` is a `StrEnum`: a member is its string, so it compares equal to the text a
script or an old ledger row holds, and JSON writes it as that text.

Codes that used to be assembled at run time are explicit lookups here: the column
type that could not be read (`BAD_VALUE`), what the file turned out to be
(`FILE_PROBLEM`) and the template's rule kinds (`RULE`). Pandera's check names are
mapped in `schema.check_code`, beside the schema that names them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from xlplan.sniff import SniffKind

Severity = Literal["error", "warning", "note"]

_SEVERITIES: dict[str, tuple[Severity, ...]] = {
    "error": ("error",),
    "warning": ("warning",),
    "note": ("note",),
    "error or warning": ("error", "warning"),
    "warning or note": ("warning", "note"),
    "error or note": ("error", "note"),
}


class Code(StrEnum):
    """A kind of issue: its public string, its severity and its meaning."""

    severities: tuple[Severity, ...]
    meaning: str

    def __new__(cls, value: str, severity: str, meaning: str) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.severities = _SEVERITIES[severity]
        member.meaning = meaning
        return member

    @property
    def severity(self) -> str:
        """The severities in words, as the documentation lists them ("warning or note")."""
        return " or ".join(self.severities)

    # One line per code, so that the catalogue reads as a table:
    # fmt: off
    # --- the file: what it really is, before any parser sees it ---
    UNREADABLE = "unreadable", "error", "The file could not be read from disk (open in another program? no permission?)."
    FILE_TOO_BIG = "file-too-big", "error", "The file, or its content once unzipped, is far larger than any return."
    FILE_NOT_A_WORKBOOK = "file-not-a-workbook", "error", "Not a spreadsheet: empty, CSV or text, PDF, Word, PowerPoint."
    FILE_XLS = "file-xls", "error", "An old-format Excel file (.xls): to be saved as .xlsx."
    FILE_XLSB = "file-xlsb", "error", "An Excel binary workbook (.xlsb): to be saved as .xlsx."
    FILE_ENCRYPTED = "file-encrypted", "error", "The workbook is password-protected."
    FILE_BOMB = "file-bomb", "error", "A zip bomb (far too many parts, or far too much XML once unzipped): refused unread."
    FILE_UNSAFE = "file-unsafe", "error", "XML entity declarations ('billion laughs', external entities): refused unread."
    FILE_CORRUPT = "file-corrupt", "error", "A damaged file: an incomplete or corrupt zip archive or Office container."
    MALFORMED = "malformed", "error", "A part inside the workbook could not be parsed (malformed XML, a damaged zip part)."
    ODS = "ods", "note", "Read from an OpenDocument spreadsheet (.ods), with the same checks as an .xlsx."
    MACROS = "macros", "note", "The workbook contains macros: ignored, never run."

    # --- the workbook: its sheets, metadata, header and cells ---
    UNREADABLE_VALUE = "unreadable-value", "error", "A cell holds a value the reader cannot handle (a date far out?)."
    TOO_LARGE = "too-large", "error", "A sheet has content far outside any return (reading it would exhaust memory)."
    NO_METADATA = "no-metadata", "error", "Neither copy of the xlplan metadata is there: no recipient or cycle to match."
    METADATA_ALTERED = "metadata-altered", "error", "The two copies of the metadata disagree: it was edited."
    MANIFEST_SHEET_MISSING = "manifest-sheet-missing", "note", "The hidden metadata sheet was deleted; identified from document properties."
    SEAL_BROKEN = "seal-broken", "error", "The metadata does not match its seal: edited to claim another recipient, cycle or rows."
    UNSEALED = "unsealed", "note", "A workbook made before workbooks were sealed (or a ledger with no key): identity checked as before."
    SHEET_MISSING = "sheet-missing", "error or warning", "The rows sheet is missing (error), or the feedback sheet is (warning)."
    SHEET_RENAMED = "sheet-renamed", "note", "The rows sheet was renamed; it was found and read anyway."
    UNPROTECTED = "unprotected", "note", "Sheet protection was removed; every locked value was checked instead."
    NO_HEADER = "no-header", "error", "No header row with the expected columns was found."
    COLUMN_MISSING = "column-missing", "error", "A column of the return was deleted or its header changed."
    COLUMNS_MOVED = "columns-moved", "note", "Columns were moved; they were matched by their headers."
    COLUMNS_EXTRA = "columns-extra", "warning or note", "A column not in the return: with text (warning, not read) or empty (note)."
    ROW_WITHOUT_REF = "row-without-ref", "error", "A row with content but no Ref: rows cannot be added."
    CONTROL_CHARACTERS = "control-characters", "note", "Invisible control characters were removed from a cell."
    INVISIBLE_CHARACTERS = "invisible-characters", "error or note", "Zero-width or non-breaking spaces around a value were removed (note); one inside a value is named (error)."
    CELL_NOTE = "cell-note", "note", "A note or comment left on a cell: shown to the officer and kept with the return."
    NOTHING_FILLED = "nothing-filled-in", "error", "The workbook came back with nothing filled in: the one issue reported for it."
    FORMULA = "formula", "warning", "A cell holds a formula or link: only its stored value was read, nothing was run."
    ERROR_VALUE = "error-value", "error", "A cell shows an error value (#DIV/0!, #N/A...) instead of a value."
    MERGED_CELLS = "merged-cells", "error", "Cells of an editable column are merged across rows."

    # --- whose return it is ---
    WRONG_PLAN = "wrong-plan", "error", "The return belongs to another plan."
    WRONG_TEMPLATE = "wrong-template", "error", "The return is of another kind (template) than this plan collects."
    TEMPLATE_VERSION = "template-version", "note", "Made with another version of the template; columns matched by header."
    WRONG_CYCLE = "wrong-cycle", "error", "The return is for another cycle than the one being collected."
    UNKNOWN_RECIPIENT = "unknown-recipient", "error", "The recipient the return names is not in the plan."
    UNEXPECTED_SENDER = "unexpected-sender", "warning", "Collected from a saved email sent from neither the recipient's address on the plan nor the return address."

    # --- its rows, by ref ---
    DUPLICATE_REF = "duplicate-ref", "error", "A Ref appears twice."
    UNKNOWN_REF = "unknown-ref", "error", "A Ref that is not in the plan (edited?)."
    FOREIGN_REF = "foreign-ref", "error", "A Ref that belongs to another recipient's workbook."
    MISSING_REF = "missing-ref", "error", "One of the recipient's rows is missing (deleted)."
    LOCKED_CHANGED = "locked-changed", "error", "A locked value (the plan's) was changed."

    # --- the plan edited since the workbook was sent: the officer's doing, never an error ---
    PLAN_ADDED = "plan-added", "note", "An action added to the recipient since the workbook was made: not in it, it will be in the next one."
    PLAN_REMOVED = "plan-removed", "note", "An action removed from the plan since the workbook was made: its update is kept in the ledger as history."
    PLAN_MOVED = "plan-moved", "note", "An action given to another recipient since the workbook was made: the update made on it is kept."
    PLAN_RENAMED = "plan-renamed", "note", "An action's ref changed since (the plan's Previous ref says so): its update is filed under the new ref."
    RECIPIENT_REPLACED = "recipient-replaced", "note", "The recipient is no longer in the plan: the return is filed for the current recipient of its actions."
    GROUP_RENAMED = "group-renamed", "note", "A feedback area whose group title changed since: filed under its title now, by its number."
    GROUP_UNPLACED = "group-unplaced", "warning or note", "A feedback area matching no group of the plan: kept under the title it came with (a note if it was sent so)."

    # --- its values ---
    BAD_DATE = "bad-date", "error", "A date column holds something that cannot be read as a date."
    BAD_NUMBER = "bad-number", "error", "A number column holds something that cannot be read as a number."
    NOT_APPLICABLE = "not-applicable", "note", "N/A, -, none or TBC in a number or date column: read as blank."
    PERCENT = "percent", "note", "A number formatted as a percentage was read as the percentage shown (93% as 93)."
    DECIMAL_POINT = "decimal-point", "note", "A number such as 1.200 was read with a decimal point (1.2), and said so."
    TIMESCALE = "timescale", "note", "A date written as a month, financial year or quarter was read as the date it means."
    NORMALISED = "normalised", "note", "A choice typed differently (case, spaces, a declared alias) was read as the listed one."
    BAD_CHOICE = "bad-choice", "error", "A value that is not one of the column's dropdown choices."
    REQUIRED = "required", "error", "A required column is empty."
    TOO_LONG = "too-long", "error", "A text is longer than the column's limit."

    # --- the template's declared rules (each rule says its severity) ---
    REQUIRED_WHEN = "required_when", "error or warning", "Rule: a column must be filled in when a condition holds."
    BLANK_WHEN = "blank_when", "error or warning", "Rule: a column must stay blank when a condition holds (locked rows)."
    OVERDUE = "overdue", "error or warning", "Rule: a due date (and any revised one) has passed while the status is one the rule names."
    PAST_DATE = "past_date", "error or warning", "Rule: a date that should be still to come is already past."
    TOLERANCE = "tolerance", "error or warning", "Rule: the status disagrees with the actual against the target."
    UNCHANGED = "unchanged", "error or warning", "Rule: the text is the same as last cycle's."
    RULE_BROKEN = "rule-broken", "warning", "A template rule could not be run on the return: it was not checked by it; correct the template."

    # --- a fallback that should never be seen ---
    FAILED_CHECK = "failed-check", "error", "A check with no code of its own failed: a bug in xlplan, please report it."
    # fmt: on


# A value the column's type could not read (typed_rows._typed): only dates and numbers are parsed.
BAD_VALUE: dict[str, Code] = {"date": Code.BAD_DATE, "number": Code.BAD_NUMBER}

# What sniff found, for the files that cannot be read as a workbook (Sniffed.readable is False).
FILE_PROBLEM: dict[SniffKind, Code] = {
    "not-a-workbook": Code.FILE_NOT_A_WORKBOOK,
    "too-big": Code.FILE_TOO_BIG,
    "xls": Code.FILE_XLS,
    "xlsb": Code.FILE_XLSB,
    "encrypted": Code.FILE_ENCRYPTED,
    "bomb": Code.FILE_BOMB,
    "unsafe": Code.FILE_UNSAFE,
    "corrupt": Code.FILE_CORRUPT,
}

# A template rule's kind (template.Rule.kind) -> the code of the issues it raises.
RULE: dict[str, Code] = {
    "required_when": Code.REQUIRED_WHEN,
    "blank_when": Code.BLANK_WHEN,
    "overdue": Code.OVERDUE,
    "past_date": Code.PAST_DATE,
    "tolerance": Code.TOLERANCE,
    "unchanged": Code.UNCHANGED,
}
