"""Bounded reading of untrusted input: YAML documents, JSON lines and text streams.

Why: a YAML parser happily builds a 548-byte "billion laughs" document into a graph that any
walk over it (our line-number map, pydantic) expands to 10**9 nodes, and a deeply nested
document or JSON line ends in ``RecursionError`` deep inside a parser. So every input is
measured *before* it is built: the YAML event stream (which neither constructs nor expands
anything) is walked once, counting nesting depth, aliases and the size the document would
have with every alias expanded. Anything past a limit raises :class:`InputLimitError`, whose
message names the input, the limit and what to do; callers turn it into their own error type
(``PolicyError``, a CLI exit 2).

The simulator keeps its own copy of this guard (``simulator/safe_yaml.py``): the engine and
the twin never import each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml


class InputLimitError(ValueError):
    """An input past one of the limits; ``str()`` names the input, the limit and the way out."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


@dataclass(frozen=True, kw_only=True)
class YamlLimits:
    """What one YAML document may cost. ``max_nodes`` counts every scalar, sequence and mapping
    with each alias expanded: what a walk over the loaded data would visit."""

    max_bytes: int
    max_depth: int
    max_aliases: int
    max_nodes: int


def read_text_bounded(path: str | Path, *, max_bytes: int, what: str = "file") -> str:
    """A UTF-8 text file of at most ``max_bytes``; never reads more than one byte past the limit
    (a FIFO or /dev/zero cannot exhaust memory). Raises ``OSError``/``UnicodeDecodeError`` as
    ``open`` does, :class:`InputLimitError` when too big."""
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputLimitError(str(path), f"{what} is larger than the limit of {max_bytes} bytes; "
                                         "split it or remove what is not needed")
    return data.decode("utf-8")


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


def check_yaml(text: str, *, source: str, limits: YamlLimits,
               loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> None:
    """Walk the YAML event stream of ``text`` (nothing is constructed or expanded) and raise
    :class:`InputLimitError` at the first limit passed; ``yaml.YAMLError`` for malformed YAML."""
    size = len(text.encode("utf-8"))
    if size > limits.max_bytes:
        raise InputLimitError(source, f"larger than the limit of {limits.max_bytes} bytes ({size} bytes); "
                                      "split it or remove what is not needed")
    # one frame per open collection: [expanded node count so far, anchor or None]
    stack: list[list[Any]] = []
    sizes: dict[str, int] = {}  # anchor -> expanded node count, once its node is complete
    aliases = 0
    total = 0

    def add(n: int, event: yaml.Event) -> None:
        nonlocal total
        if stack:
            stack[-1][0] += n
        else:
            total += n
        if total + sum(frame[0] for frame in stack) > limits.max_nodes:
            raise InputLimitError(source, f"expands to more than the limit of {limits.max_nodes} nodes "
                                          f"(line {_line(event)}); YAML aliases (*name) multiply what they "
                                          "point to: write the values out or use fewer aliases")

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > limits.max_aliases:
                raise InputLimitError(source, f"more than the limit of {limits.max_aliases} YAML aliases "
                                              f"(line {_line(event)}); write the values out instead")
            if event.anchor in {frame[1] for frame in stack}:
                raise InputLimitError(source, f"YAML alias *{event.anchor} refers to a node that contains "
                                              f"it (line {_line(event)}); a recursive document cannot be "
                                              "read")
            add(sizes.get(str(event.anchor), 1), event)  # an unknown anchor: the composer reports it
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            add(1, event)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= limits.max_depth:
                raise InputLimitError(source, f"nested deeper than the limit of {limits.max_depth} levels "
                                              f"(line {_line(event)}); flatten the structure")
            stack.append([1, event.anchor])
        elif isinstance(event, yaml.CollectionEndEvent):
            count, anchor = stack.pop()
            if anchor is not None:
                sizes[anchor] = count
            add(count, event)


def load_yaml(text: str, *, source: str, limits: YamlLimits,
              loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> tuple[yaml.Node | None, Any]:
    """The composed node graph (for line numbers) and the constructed data of a single-document
    YAML text, checked against ``limits`` first. Raises :class:`InputLimitError` or
    ``yaml.YAMLError``."""
    check_yaml(text, source=source, limits=limits, loader=loader)
    ldr = loader(text)
    try:
        node = ldr.get_single_node()
        data = ldr.construct_document(node) if node is not None else None
    finally:
        ldr.dispose()  # type: ignore[no-untyped-call]
    return node, data


# --- JSON lines -------------------------------------------------------------------------------
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply the arrays/objects of a JSON text nest (outside strings), without parsing it:
    measured first so ``json.loads`` never recurses past what we allow."""
    depth = deepest = 0
    for m in _BRACKET.finditer(_JSON_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


# --- text streams -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One physical line of a stream: its 1-based number and its bytes (without the newline), or
    ``None`` when it was longer than the limit (its bytes were read and dropped)."""

    number: int
    data: bytes | None


def bounded_lines(stream: IO[bytes], *, max_bytes: int) -> Iterator[Line]:
    """The lines of a binary stream, holding at most ``max_bytes + 1`` bytes of any line in
    memory: a longer line is consumed in chunks and yielded as ``data=None``."""
    number = 0
    while True:
        chunk = stream.readline(max_bytes + 2)  # room for the line's own "\r\n"
        if not chunk:
            return
        number += 1
        if chunk.endswith(b"\n") or len(chunk) <= max_bytes:
            body = chunk.rstrip(b"\n").removesuffix(b"\r")
            yield Line(number, body if len(body) <= max_bytes else None)
            continue
        while chunk and not chunk.endswith(b"\n"):  # drain the rest of the long line
            chunk = stream.readline(max_bytes)
        yield Line(number, None)
