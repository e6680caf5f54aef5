"""The part of OData ``$filter`` that Graph accepts on directory objects.

Supported: ``p eq 'v'`` / ``ne`` / ``ge`` / ``le`` (strings, GUIDs, booleans, null),
``startswith(p,'v')``, ``endswith(p,'v')``, ``p in ('a','b')``,
``coll/any(c:c eq 'v')`` (also ``startswith(c,'v')`` inside), ``not``, ``and``, ``or`` and
parentheses. String comparisons ignore case, as the directory does. ``ne``, ``not`` and
``endswith`` are Graph's "advanced queries": they need ``ConsistencyLevel: eventual`` and
``$count=true``, and without them Graph refuses the filter, so the simulator does too.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.core import errors
from simulator.graph.shapes import Shape

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')"
    r"|(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)?)"
    r"|(?P<punct>[(),:/])|(?P<word>[^\s(),:/']+))")

# what Graph lets a filter test, per type (others: Request_UnsupportedQuery)
FILTERABLE = {
    "application": {"id", "appId", "displayName", "identifierUris", "tags", "signInAudience",
                    "createdDateTime", "publisherDomain", "uniqueName"},
    "servicePrincipal": {"id", "appId", "displayName", "servicePrincipalNames",
                         "servicePrincipalType", "accountEnabled", "alternativeNames", "tags",
                         "appOwnerOrganizationId", "appDisplayName"},
    "user": {"id", "userPrincipalName", "displayName", "mail", "accountEnabled", "mailNickname",
             "givenName", "surname", "userType", "otherMails", "proxyAddresses"},
    "group": {"id", "displayName", "mailNickname", "securityEnabled", "mailEnabled", "groupTypes",
              "mail", "proxyAddresses", "isAssignableToRole"},
}


@dataclass
class Parsed:
    predicate: Predicate
    advanced: list[str] = field(default_factory=list)  # operators needing advanced queries


def _syntax(text: str, pos: int) -> errors.CloudError:
    return errors.graph_error(400, "BadRequest",
                              f"Invalid filter clause: Syntax error at position {pos} in "
                              f"'{text}'.")


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _as_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class _Parser:
    def __init__(self, text: str, shape: Shape) -> None:
        self.text = text
        self.shape = shape
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise _syntax(text, pos)
            kind = m.lastgroup or "word"
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0
        self.advanced: list[str] = []

    # -- token helpers -----------------------------------------------------------------------
    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1].lower() != value):
            raise _syntax(self.text, tok[2] if tok else len(self.text))
        self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() in words

    # -- grammar -----------------------------------------------------------------------------
    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek() is not None:
            raise _syntax(self.text, self.peek()[2])  # type: ignore[index]
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.at_word("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda d: any(p(d) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while self.at_word("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda d: all(p(d) for p in parts))

    def unary(self) -> Predicate:
        if self.at_word("not"):
            self.take()
            self.advanced.append("not")
            inner = self.unary()
            return lambda d: not inner(d)
        tok = self.peek()
        if tok is not None and tok[1] == "(":
            self.take("(")
            inner = self.or_expr()
            self.take(")")
            return inner
        if self.at_word("startswith", "endswith"):
            return self.string_function(None)
        return self.comparison()

    def string_function(self, lambda_var: str | None) -> Predicate:
        fn = self.take()[1].lower()
        if fn == "endswith":
            self.advanced.append("endsWith")
        self.take("(")
        getter = self.operand(lambda_var)
        self.take(",")
        value = _norm(self.literal())
        self.take(")")

        def pred(d: dict[str, Any]) -> bool:
            v = getter(d)
            if not isinstance(v, str) or not isinstance(value, str):
                return False
            return v.lower().startswith(value) if fn == "startswith" else v.lower().endswith(value)

        return pred

    def comparison(self) -> Predicate:
        kind, word, pos = self.take()
        if kind != "word":
            raise _syntax(self.text, pos)
        prop = self.property(word)
        nxt = self.peek()
        if nxt is not None and nxt[1] == "/":
            return self.any_lambda(prop)
        if self.at_word("in"):
            self.take()
            self.take("(")
            values = [_norm(self.literal())]
            while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                self.take(",")
                values.append(_norm(self.literal()))
            self.take(")")
            return lambda d: _norm(d.get(prop)) in values
        op = self.take()[1].lower()
        value = _norm(self.literal())
        return self.compare(lambda d: d.get(prop), op, value)

    def compare(self, getter: Callable[[dict[str, Any]], Any], op: str, value: Any) -> Predicate:
        def same(d: dict[str, Any]) -> bool:
            if isinstance(value, dt.datetime):
                return _as_time(getter(d)) == value
            return _norm(getter(d)) == value

        if op == "eq":
            return same
        if op == "ne":
            self.advanced.append("ne")
            return lambda d: not same(d)
        if op in ("ge", "le", "gt", "lt"):
            fn = getattr(operator, op)

            def ordered(d: dict[str, Any]) -> bool:
                left = getter(d)
                if left is None or value is None:
                    return False
                if isinstance(value, dt.datetime):
                    left = _as_time(left)
                    return left is not None and bool(fn(left, value))
                return bool(fn(_norm(left), value))

            return ordered
        raise _syntax(self.text, self.tokens[self.i - 1][2])

    def any_lambda(self, prop: str) -> Predicate:
        self.take("/")
        self.take("any")
        self.take("(")
        var = self.take()[1]
        self.take(":")
        if self.at_word("startswith", "endswith"):
            inner = self.string_function(var)
        else:
            getter = self.operand(var)
            op = self.take()[1].lower()
            inner = self.compare(getter, op, _norm(self.literal()))
        self.take(")")
        return lambda d: any(inner({"$it": v}) for v in (d.get(prop) or []))

    def operand(self, lambda_var: str | None) -> Callable[[dict[str, Any]], Any]:
        word = self.take()[1]
        if lambda_var is not None and word == lambda_var:
            return lambda d: d.get("$it")
        prop = self.property(word)
        return lambda d: d.get(prop)

    def property(self, word: str) -> str:
        name = self.shape.property_name(word)
        if name is None or name not in FILTERABLE[self.shape.type_name]:
            raise errors.graph_error(
                400, "Request_UnsupportedQuery",
                f"Unsupported or invalid query filter clause specified for property '{word}' of "
                f"resource '{self.shape.type_name[0].upper() + self.shape.type_name[1:]}'.")
        return name

    def literal(self) -> Any:
        kind, word, pos = self.take()
        if kind == "str":
            return word[1:-1].replace("''", "'")
        if kind == "time":
            return _as_time(word)
        if kind != "word":
            raise _syntax(self.text, pos)
        low = word.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        if re.fullmatch(r"-?\d+", word):
            return int(word)
        if re.fullmatch(r"[0-9a-fA-F-]{36}", word):
            return word
        raise _syntax(self.text, pos)


def parse_filter(text: str, shape: Shape) -> Parsed:
    parser = _Parser(text, shape)
    pred = parser.parse()
    return Parsed(pred, parser.advanced)
