"""Where a mistake in a template spec is, for the one who wrote it: the error a check raises
(`SpecError`: the path of YAML keys and list positions to the node at fault, and the word),
the "did you mean" for a near miss, and the 1-based line a path reaches in the YAML text,
worked out only when there is a mistake to report."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

import yaml

YamlPath = tuple[str | int, ...]  # keys and list positions from the top of the YAML down


class SpecError(ValueError):
    """A mistake in a template, with where it is in the YAML (`at`: the path of keys and
    list positions to it) and the word at fault, so the loader can name its line."""

    def __init__(self, message: str, at: YamlPath = (), word: str = "") -> None:
        super().__init__(message)
        self.at = at
        self.word = word


def suggest(word: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a near miss of one of `known`, else ''."""
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def placed(at: YamlPath, build: Callable[..., Any], *args: Any) -> Any:
    """build(*args), any mistake it finds placed at `at` (its own path, if it knows one, below that)."""
    try:
        return build(*args)
    except SpecError as exc:
        raise SpecError(str(exc), (*at, *exc.at), exc.word) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecError(str(exc), at) from exc


def line_of(text: str, at: YamlPath) -> int | None:
    """The 1-based line of the YAML node at path `at` (keys and list positions), or of the
    nearest node above it that the path reaches. Worked out only for a mistake."""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for step in at:
        found = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(step):
                    found, line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            found = node.value[step]
            line = found.start_mark.line + 1
        if found is None:
            break
        node = found
    return line
