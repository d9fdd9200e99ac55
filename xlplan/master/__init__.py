"""Plan + ledger -> the master tracker workbook the Strategic Planning Group reads.

Its sheets, in the order the SPG reads them (``build.SHEETS``), each in its own module:

    Dashboard                        dashboard.py       one A4 page: returns, overdue, Red/Amber,
                                                        status by group as a table and as charts
    (ratings, for a distribution)    ratings_sheet.py   how the respondents rated each item
    Risk register                    risk_register.py   every action at an `attention` status
    Changes since last cycle         changes.py         status moves, completions, newly overdue
    Proposed changes to timescales   timescales.py      revised due dates for the SPG to approve,
                                                        and what it decided
    Decisions taken                  decisions_sheet.py the decisions recorded in plan.xlsx
    Plan changes                     plan_changes_sheet.py  what was changed in plan.xlsx, and when
    Current status, Trend            current_status.py  every action beside this cycle's return
    Gaps                             gaps_sheet.py      what to chase
    Feedback                         feedback_sheet.py  the groups' feedback, in full
    Returns                          returns_sheet.py   every return received

``context.gather`` reads the ledger and the plan once into what the sheets show;
``sheets`` holds what the sheets are made of (formats, columns, tables); ``build``
writes and packs the file, with a worker for the biggest sheet at national scale, and
writes it beside the master when the master is open in Excel. How it looks (colours,
print set-up, row heights, cells by type) is ``xlplan.look``'s, as for every workbook.
"""

from xlplan.master.build import SHEETS, MasterLocked, Rendered, fallback_path, render_master
from xlplan.master.context import Context, gather

__all__ = ["SHEETS", "Context", "MasterLocked", "Rendered", "fallback_path", "gather", "render_master"]
