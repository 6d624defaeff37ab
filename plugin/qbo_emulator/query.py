"""QBO's query language: SELECT, FROM, WHERE (AND only), ORDER BY, STARTPOSITION, MAXRESULTS."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .clock import parse_stamp
from .entities import NAME_LISTS, RULES
from .errors import ApiFault
from .fields import is_queryable
from .repo import Doc, Repo

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])|"
    r"(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),*])|(?P<word>[A-Za-z_][\w.]*))"
)
QUERYABLE = tuple(RULES)
# node-quickbooks sends "select * from customer" and works against QBO: names match any case.
BY_LOWER = {name.lower(): name for name in QUERYABLE}
Literal = str | Decimal | bool


@dataclass
class Query:
    entity: str
    count: bool = False
    where: list[tuple[str, str, list[Literal]]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    start: int = 1
    limit: int = 100


def _parse_error(near: str, column: int) -> ApiFault:
    return ApiFault(
        "4000",
        f'QueryParserError: Encountered " {near} " at line 1, column {column}.',
        message="Error parsing query",
    )


def tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip().rstrip(";")
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _parse_error(text[pos:].strip()[:10], pos + 1)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise _parse_error("<EOF>", len(self.tokens) + 1)
        self.i += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() in words:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: str | None = None) -> tuple[str, str, int]:
        token = self.next()
        if token[0] != kind or (value is not None and token[1].upper() != value):
            raise _parse_error(token[1], token[2])
        return token

    def parse(self) -> Query:
        if not self.keyword("SELECT"):
            token = self.next()
            raise _parse_error(token[1], token[2])
        is_count = self._projection()
        self.expect("word", "FROM")
        _, written, column = self.expect("word")
        entity = BY_LOWER.get(written.lower(), written)
        if entity not in QUERYABLE:
            raise ApiFault(
                "4000", f"QueryParserError: Invalid entity name {written} at column {column}"
            )
        query = Query(entity=entity, count=is_count)
        if self.keyword("WHERE"):
            query.where.append(self._condition())
            while self.keyword("AND"):
                query.where.append(self._condition())
        while self.peek() is not None:
            if self.keyword("ORDERBY") or (self.keyword("ORDER") and self.expect("word", "BY")):
                query.order = self._order()
            elif self.keyword("STARTPOSITION"):
                query.start = self._int("STARTPOSITION", 1, None)
            elif self.keyword("MAXRESULTS"):
                query.limit = self._int("MAXRESULTS", 1, 1000)
            else:
                token = self.next()
                raise _parse_error(token[1], token[2])
        return query

    def _projection(self) -> bool:
        token = self.next()
        if token[0] == "word" and token[1].upper() == "COUNT":
            self.expect("punct", "(")
            self.expect("punct", "*")
            self.expect("punct", ")")
            return True
        if token[1] == "*" or token[0] == "word":
            while self.peek() and self.peek()[1] == ",":  # type: ignore[index]
                self.next()
                self.next()
            return False
        raise _parse_error(token[1], token[2])

    def _condition(self) -> tuple[str, str, list[Literal]]:
        _, name, _ = self.expect("word")
        token = self.next()
        if token[0] == "op":
            op = "!=" if token[1] == "<>" else token[1]
            return name, op, [self._literal()]
        word = token[1].upper()
        if word == "LIKE":
            return name, "LIKE", [self._literal()]
        if word == "IN":
            self.expect("punct", "(")
            values = [self._literal()]
            while self.peek() and self.peek()[1] == ",":  # type: ignore[index]
                self.next()
                values.append(self._literal())
            self.expect("punct", ")")
            return name, "IN", values
        raise _parse_error(token[1], token[2])

    def _literal(self) -> Literal:
        kind, value, column = self.next()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", value[1:-1])
        if kind == "num":
            return Decimal(value)
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _parse_error(value, column)

    def _order(self) -> list[tuple[str, bool]]:
        order: list[tuple[str, bool]] = []
        while True:
            _, name, _ = self.expect("word")
            desc = self.keyword("DESC")
            if not desc:
                self.keyword("ASC")
            order.append((name, desc))
            if not (self.peek() and self.peek()[1] == ","):  # type: ignore[index]
                return order
            self.next()

    def _int(self, name: str, low: int, high: int | None) -> int:
        kind, value, column = self.next()
        if kind != "num" or "." in value:
            raise _parse_error(value, column)
        number = int(value)
        if number < low:
            raise ApiFault(
                "4001",
                f"QueryValidationError: value {number} is too small. Min allowed value is {low}",
                message="Invalid query",
            )
        if high is not None and number > high:
            raise ApiFault(
                "4001",
                f"QueryValidationError: value {number} is too large. Max allowed value is {high}",
                message="Invalid query",
            )
        return number


def value_at(doc: Doc, path: str) -> Any:
    current: Any = doc
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    if isinstance(current, dict) and "value" in current:
        return current["value"]
    return current


def _key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, Decimal | int | float):
        return (1, Decimal(str(value)))
    if isinstance(value, str):
        if value.isdigit():
            return (1, Decimal(value))
        stamp = parse_stamp(value) if ("T" in value or value.count("-") == 2) else None
        if stamp is not None:
            return (2, stamp)
        return (3, value)
    return (4, "")


def compare(actual: Any, op: str, literal: Literal) -> bool:
    if actual is None:
        return False
    if op == "LIKE":
        pattern = "^" + ".*".join(re.escape(p) for p in str(literal).split("%")) + "$"
        return re.match(pattern, str(actual), re.DOTALL) is not None
    if isinstance(literal, bool) or isinstance(actual, bool):
        left: Any = str(actual).lower()
        right: Any = str(literal).lower()
    else:
        try:
            (lk, left), (rk, right) = (
                _key(actual),
                _key(literal if not isinstance(literal, Decimal) else literal),
            )
        except InvalidOperation:
            return False
        if lk != rk:
            left, right = str(actual), str(literal)
    if op in ("=", "IN"):
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    return bool(
        {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    )


def _candidates(repo: Repo, query: Query) -> tuple[list[Doc], int | None]:
    """The docs the WHERE clause can match, and the clause already applied (or None): those
    named by `Id = x` / `Id IN (...)` (an index probe; Ids written as the emulator writes them,
    digits without leading zeros), else every doc of the entity. Only when every property is
    known without looking at stored docs, so the 4001 check answers as a full scan would."""
    names = [c[0] for c in query.where] + [o[0] for o in query.order]
    if all(is_queryable(query.entity, name, set()) for name in names):
        for n, (name, op, values) in enumerate(query.where):
            ids = [v for v in values if isinstance(v, str)]
            if (
                name == "Id"
                and op in ("=", "IN")
                and len(ids) == len(values)
                and all(i.isdigit() and str(int(i)) == i for i in ids)
            ):
                return repo.some(query.entity, ids), n
    return repo.all(query.entity), None


def run(repo: Repo, text: str, stamp: str) -> dict[str, Any]:
    """Execute a query; returns the QueryResponse envelope."""
    query = Parser(text).parse()
    docs, applied = _candidates(repo, query)
    seen = {key for doc in docs for key in doc}
    for name in [c[0] for c in query.where] + [o[0] for o in query.order]:
        if not is_queryable(query.entity, name, seen):
            raise ApiFault(
                "4001",
                f"QueryValidationError: property '{name}' is not queryable for {query.entity}",
                message="Invalid query",
            )
    if query.entity in NAME_LISTS and not any(c[0] == "Active" for c in query.where):
        docs = [d for d in docs if d.get("Active") is not False]
    for n, (name, op, values) in enumerate(query.where):
        if n != applied:
            docs = [d for d in docs if any(compare(value_at(d, name), op, v) for v in values)]
    for name, desc in reversed(query.order):

        def sort_key(doc: Doc, path: str = name) -> tuple[int, Any]:
            return _key(value_at(doc, path))

        docs.sort(key=sort_key, reverse=desc)
    if query.count:
        return {"QueryResponse": {"totalCount": len(docs)}, "time": stamp}
    page = docs[query.start - 1 : query.start - 1 + query.limit]
    if not page:
        return {"QueryResponse": {}, "time": stamp}
    return {
        "QueryResponse": {
            query.entity: page,
            "startPosition": query.start,
            "maxResults": len(page),
        },
        "time": stamp,
    }
