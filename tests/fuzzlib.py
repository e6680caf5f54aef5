"""Shared pieces of the property-based fuzz suite (tests/test_fuzz_*.py).

``FUZZ`` is the one hypothesis profile: derandomized (CI sees the same examples every run),
no example database (nothing written to the tree), a modest number of examples, and a
deadline far above any normal example's time, so only a hang (the 548-byte alias bomb took
over 120 s) fails it, not a busy machine.

``no_writes()`` records every attempt to write to the file system (``open`` for writing,
remove, rename, mkdir, truncate) through a Python audit hook while it is active: the fuzzed
readers must not write anything, whatever they are fed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=150, deadline=timedelta(seconds=10), derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                print_blob=False)

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_EVENTS = {"os.remove", "os.rename", "os.replace", "os.mkdir", "os.rmdir", "os.truncate",
                 "os.symlink", "os.link", "shutil.rmtree", "shutil.move", "shutil.copyfile"}
_active: list[list[str]] = []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _active:
        return
    if event == "open":
        path, mode, flags = args
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS):
            _active[-1].append(f"open {path!r} {mode or flags}")
    elif event in _WRITE_EVENTS:
        _active[-1].append(f"{event} {args[0]!r}")


sys.addaudithook(_hook)


@contextmanager
def no_writes() -> Iterator[list[str]]:
    """Collect file-system writes made inside the block (the caller asserts the list is empty)."""
    seen: list[str] = []
    _active.append(seen)
    try:
        yield seen
    finally:
        _active.pop()


# --- text made of the pieces that matter to a parser ------------------------------------------
YAML_PIECES = ["\n", "  ", "- ", ": ", "? ", "[", "]", "{", "}", ", ", "&a ", "&b ", "*a", "*b", "<<: *a",
               "'", '"', "#", "|\n", ">\n", "---\n", "...\n", "%YAML 1.2\n", "!!str ", "!!binary ",
               "!!python/object:os.system ", "!!set ", "\t", "\\", "\x00", "\ufeff", "version", "1",
               "mode", "apply", "fixes", "defaults", "decision", "sign-off", "auto", "deny", "approvers",
               "approval_timeout", "99999999d", "30d", "overrides", "match", "scope", "cluster_tags",
               "maintenance_windows", "days", "start", "end", "24:00", "12:30", "grant-pull-role",
               "group:ops", "user:a@b.c", "[]", "{}", "null", "~", "true", "no", "1e400", "-1",
               "9" * 30, "x" * 100, "é", "😀"]


def pieces(alphabet: list[str], *, max_size: int = 60) -> st.SearchStrategy[str]:
    """Text glued from ``alphabet`` and arbitrary characters: mostly near-valid input, which
    reaches deeper into a parser than random bytes do."""
    return st.lists(st.one_of(st.sampled_from(alphabet), st.text(max_size=3)),
                    max_size=max_size).map("".join)


def mutated(text: str) -> st.SearchStrategy[str]:
    """``text`` with a few edits: a line dropped, duplicated or re-indented, a slice replaced by
    a parser-relevant piece, or the tail cut off."""

    @st.composite
    def edit(draw: st.DrawFn) -> str:
        out = text
        for _ in range(draw(st.integers(1, 4))):
            lines = out.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            kind = draw(st.sampled_from(["drop", "dup", "indent", "dedent", "splice", "cut"]))
            if kind == "drop":
                del lines[i]
            elif kind == "dup":
                lines.insert(i, lines[i])
            elif kind == "indent":
                lines[i] = "  " + lines[i]
            elif kind == "dedent":
                lines[i] = lines[i].lstrip()
            elif kind == "splice":
                line = lines[i]
                a = draw(st.integers(0, len(line)))
                b = draw(st.integers(a, min(len(line), a + 12)))
                piece = draw(st.one_of(st.sampled_from(YAML_PIECES), st.text(max_size=8)))
                lines[i] = line[:a] + piece + line[b:]
            out = "".join(lines)
            if kind == "cut":
                out = out[:draw(st.integers(0, len(out)))]
        return out

    return edit()


def json_like(*, keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Nested dicts/lists of scalars, keyed by ``keys``: random documents for a YAML dump."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                        st.floats(allow_nan=True), st.text(max_size=20))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)), max_leaves=25)
