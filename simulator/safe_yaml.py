"""Bounded YAML for scenario files: size, nesting depth, alias count and the size with every
alias expanded are measured on the event stream before anything is built, so a "billion
laughs" scenario or 10**5 nested brackets fail in milliseconds with a message instead of
hanging the twin or ending in ``RecursionError``.

The engine has the same guard in ``tasks/safe_input.py``; this copy is deliberate (the twin
never imports the engine, and the engine never imports the twin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# The built-in scenarios: up to 21 KiB, 1,600 nodes, 12 levels. Generated fleets come from
# ``generate:``/``fleet:`` specs, not YAML, so these leave a wide margin.
MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 1000
MAX_NODES = 1_000_000


class YamlLimitError(ValueError):
    """A scenario file past one of the limits; the message names the limit and the way out."""


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 0


def check(text: str) -> None:
    """Raise :class:`YamlLimitError` at the first limit ``text`` passes (``yaml.YAMLError`` when
    it is not YAML at all)."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise YamlLimitError(f"larger than the limit of {MAX_BYTES} bytes")
    stack: list[list[Any]] = []  # per open collection: [expanded node count, anchor]
    sizes: dict[str, int] = {}
    aliases = total = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        n = 0
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise YamlLimitError(f"more than the limit of {MAX_ALIASES} YAML aliases "
                                     f"(line {_line(event)}); write the values out")
            if event.anchor in {frame[1] for frame in stack}:
                raise YamlLimitError(f"YAML alias *{event.anchor} refers to a node that contains it "
                                     f"(line {_line(event)})")
            n = sizes.get(str(event.anchor), 1)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            n = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise YamlLimitError(f"nested deeper than the limit of {MAX_DEPTH} levels "
                                     f"(line {_line(event)})")
            stack.append([1, event.anchor])
        elif isinstance(event, yaml.CollectionEndEvent):
            n, anchor = stack.pop()
            if anchor is not None:
                sizes[anchor] = n
        if n:
            if stack:
                stack[-1][0] += n
            else:
                total += n
            if total + sum(frame[0] for frame in stack) > MAX_NODES:
                raise YamlLimitError(f"expands to more than the limit of {MAX_NODES} nodes "
                                     f"(line {_line(event)}); YAML aliases multiply what they point to")


def read(path: Path) -> Any:
    """The data of a YAML file within the limits: :class:`YamlLimitError`, ``yaml.YAMLError``,
    ``OSError`` or ``UnicodeDecodeError`` otherwise. Reads at most one byte past the size limit."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise YamlLimitError(f"larger than the limit of {MAX_BYTES} bytes")
    text = data.decode("utf-8")
    check(text)
    return yaml.safe_load(text)
