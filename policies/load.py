"""Reading a policy file: YAML with line numbers, validated by the models, with errors that
name the file, the key path, the line and the valid choices."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from policies.model import Policy, PolicyError
from tasks.safe_input import InputLimitError, YamlLimits, load_yaml, read_text_bounded

SHIPPED_DIR = Path(__file__).resolve().parent
# A policy is a few KiB (the shipped ones: under 3 KiB, 150 nodes, 7 levels). The limits leave
# room for a big fleet's overrides while keeping a hostile file (alias bomb, 10**5 nested
# brackets) to milliseconds of work.
LIMITS = YamlLimits(max_bytes=256 * 1024, max_depth=32, max_aliases=100, max_nodes=50_000)


class _Loader(yaml.SafeLoader):
    """YAML 1.2 scalars: only true/false are booleans and ``12:30`` is a string, not the YAML 1.1
    base-60 integer 750 (a window's unquoted times would silently become numbers otherwise)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool",
                                                               "tag:yaml.org,2002:int",
                                                               "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(
    r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"), list("-+0123456789."))

Path_ = tuple[str | int, ...]


def _lines(node: yaml.Node, path: Path_, out: dict[Path_, int], problems: list[str]) -> None:
    """Record the line of every key and list item; report duplicate keys (YAML keeps the last
    one silently, which would hide half of a policy)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            line = key.start_mark.line + 1
            if sub in out:
                problems.append(f"duplicate key '{key.value}'{_where(path, line)} (first at line {out[sub]})")
            out[sub] = line
            _lines(value, sub, out, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _lines(item, (*path, i), out, problems)


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _where(parent: Path_, line: int | None) -> str:
    at = f" at {_dotted(parent)}" if parent else ""
    if line is None:
        return at
    return f"{at} (line {line})" if parent else f" at line {line}"


def _unwrap(tp: Any, loc: list[str | int]) -> Any:
    """Follow one step of ``loc`` into a type: models by field, dicts by key, lists by index."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            tp = next(a for a in get_args(tp) if a is not type(None))
        elif origin is dict and loc:
            loc.pop(0)
            tp = get_args(tp)[1]
        elif origin is tuple and loc and isinstance(loc[0], int):
            loc.pop(0)
            tp = get_args(tp)[0]
        else:
            return tp


def _model_at(path: Path_) -> type[BaseModel] | None:
    tp: Any = Policy
    loc = list(path)
    while True:
        tp = _unwrap(tp, loc)
        if not loc:
            return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
        if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
            return None
        field = tp.model_fields.get(str(loc.pop(0)))
        if field is None:
            return None
        tp = field.annotation


def _message(err: Any, lines: dict[Path_, int]) -> str:
    raw = tuple(err["loc"])
    # pydantic marks a dict key's own error with a "[key]" step; an unknown key's last step is
    # the key as written, whatever it is (a policy may well say "[key]")
    last = raw[-1:] if err["type"] == "extra_forbidden" else ()
    loc: Path_ = (*(p for p in raw[:len(raw) - len(last)] if p != "[key]"), *last)
    ctx = err.get("ctx") or {}
    if "path" in ctx:  # a check on a whole dict/model that knows which entry is wrong
        loc = (*loc, *ctx["path"])
    known = loc
    while known and known not in lines:  # validator type tags in loc have no line
        known = known[:-1]
    line = lines.get(known)
    kind = err["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        valid = ", ".join(model.model_fields) if model else "?"
        return f"unknown key '{loc[-1]}'{_where(loc[:-1], line)}; valid: {valid}"
    msg = err["msg"]
    if kind in ("unknown_fix", "unknown_day"):  # the bad value is itself the key/item: point at its parent
        loc = loc[:-1]
    elif kind == "missing":
        return f"missing key '{loc[-1]}'{_where(loc[:-1], lines.get(loc[:-1], 1))}"
    elif kind == "too_short":
        msg = "empty list; name at least one"
    elif kind in _SHOW_INPUT and not isinstance(err.get("input"), dict | list):
        msg = f"{msg[0].lower()}{msg[1:]} (got {err.get('input')!r})"
    head, sep, hint = msg.partition("; ")  # the place goes before the hint ("...; valid: ...")
    return f"{head}{_where(loc, line)}{sep}{hint}"


_SHOW_INPUT = ("literal_error", "greater_than_equal", "string_type", "int_type", "bool_type", "model_type",
               "dict_type", "tuple_type", "int_parsing")


# characters that would split one problem over several lines (str.splitlines' breaks)
_BREAKS = str.maketrans({c: repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


def _refusal(source: str, problems: list[str]) -> PolicyError:
    """One line per problem, whatever the file's keys and values contain."""
    return PolicyError(source, [p.translate(_BREAKS) for p in problems])


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow, before parsing
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return (f"not valid YAML at character {exc.position + 1}: {exc.reason} #x{char:04x}; "
                "remove control characters")
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"not valid YAML{where}: {problem}"


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Validate a policy document; raises :class:`PolicyError` naming every problem."""
    try:
        node, data = load_yaml(text, source=source, limits=LIMITS, loader=_Loader)
    except InputLimitError as exc:
        raise PolicyError(source, [exc.problem]) from None
    except yaml.YAMLError as exc:
        raise _refusal(source, [_yaml_problem(exc)]) from None
    if node is None or data is None:
        raise PolicyError(source, ["empty policy file; a policy starts with 'version: 1'"])
    if not isinstance(data, dict):
        raise PolicyError(source, [f"a policy is a mapping of keys ({', '.join(Policy.model_fields)}), "
                                   f"not a {type(data).__name__}"])
    lines: dict[Path_, int] = {(): 1}
    problems: list[str] = []
    _lines(node, (), lines, problems)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems += [_message(err, lines) for err in exc.errors()]
    if problems:
        raise _refusal(source, problems)
    return policy


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = read_text_bounded(path, max_bytes=LIMITS.max_bytes, what="the policy file")
    except InputLimitError as exc:
        raise PolicyError(str(path), [exc.problem]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(path), [f"cannot read: {getattr(exc, 'strerror', None) or exc}"]) from None
    return parse_policy(text, str(path))
