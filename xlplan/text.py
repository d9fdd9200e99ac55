"""Untrusted text (from plans and returns) made inert in the Markdown the reports are written in.

One escaper for every Markdown report (the implementation plan's progress report and the
self-evaluation's ratings), so that what one neutralises the other does too. HTML is
escaped with `html.escape` where it is written.
"""

from __future__ import annotations

import re
from typing import Any

_SCHEME = re.compile(r"(?i)(https?|ftp|mailto):")


def markdown_text(text: Any) -> str:
    """`text` as literal Markdown inline text, on one line and inside a table cell.

    Markdown renderers pass raw HTML through, so < and > are escaped; brackets, so that no
    [text](url) becomes a link; a URL's scheme and "www.", so that no autolink does either;
    pipes, which would end the table cell; and line breaks, which would end the row.
    """
    text = str(text).replace("<", "&lt;").replace(">", "&gt;").replace("[", "\\[").replace("]", "\\]")
    text = _SCHEME.sub(r"\1\\:", text).replace("www.", "www\\.")
    return text.replace("|", "\\|").replace("\n", " ")
