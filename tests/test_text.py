"""The one Markdown escaper (xlplan/text.py) that both Markdown reports use."""

from __future__ import annotations

import pytest

from xlplan import ratings, report
from xlplan.text import markdown_text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ('plain words, & "quotes" stay', 'plain words, & "quotes" stay'),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("[click](https://evil.example/x)", "\\[click\\](https\\://evil.example/x)"),
        (
            "see HTTP://BARE.example, ftp://f.example, mailto:a@b.example",
            "see HTTP\\://BARE.example, ftp\\://f.example, mailto\\:a@b.example",
        ),
        ("go to www.evil.example", "go to www\\.evil.example"),
        ("a | b", "a \\| b"),
        ("two\nlines", "two lines"),
        (3.5, "3.5"),
    ],
)
def test_markdown_text_is_inert(raw: object, escaped: str) -> None:
    assert markdown_text(raw) == escaped


def test_both_markdown_reports_use_it() -> None:
    """One escaper: a fix to it reaches the progress report and the ratings report alike."""
    assert report.markdown_text is markdown_text  # the progress report (the paper) is rendered there
    assert ratings.markdown_text is markdown_text
