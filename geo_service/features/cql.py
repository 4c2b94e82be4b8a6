"""OGC API - Features Part 3 filtering: CQL2 text and JSON (parsed by pygeofilter), typed
against a collection's properties, evaluated by both feature stores.

`parse_filter(text, lang, info)` turns the `filter` parameter into a small typed expression
(`Expr`); the embedded store evaluates it to a row mask (`mask`), the PostGIS store compiles
it to SQL with parameters (`to_sql`). Both use two-valued logic: a comparison, `LIKE`, `IN`
or `BETWEEN` on a missing value is false (so `NOT (x = 1)` includes the features without
`x`), which is what pandas does with NaN, so a client computing the same filter with
geopandas gets the same features.

Supported: `AND`, `OR`, `NOT`, `=`, `<>`, `<`, `<=`, `>`, `>=`, `BETWEEN`, `LIKE` (`%` any
text, `_` one character, `\\` escapes; `CASEI(...)`/ILIKE case-insensitive), `IN`,
`IS NULL`, `INCLUDE`/`EXCLUDE`, and `S_INTERSECTS`, `S_DISJOINT`, `S_WITHIN`,
`S_CONTAINS` of the feature geometry (`geometry`) with a literal geometry or `BBOX(...)` in
CRS84 degrees. Properties must be queryable (string, integer, number or boolean); a literal
must be of the property's type. Anything else is a 400 naming `filter` (or `filter-lang`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import shapely
import shapely.geometry
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as pygeofilter_parse_text

from geo_service.features.errors import InvalidQuery
from geo_service.features.model import CollectionInfo

LANGS = ("cql2-text", "cql2-json", "cql-text")
"""Values of `filter-lang`: `cql-text` (the draft's name, which GDAL's OAPIF driver sends
with `-where`) is an alias of `cql2-text`."""
GEOMETRY_QUERYABLE = "geometry"
"""The name of the feature geometry in filters (as in the queryables)."""
FILTER_KINDS = frozenset({"string", "integer", "number", "boolean"})
"""Property kinds a filter may name."""
MAX_FILTER_CHARS = 8_000
"""Longest filter accepted (characters)."""
MAX_NODES = 500
"""Most predicates and operators in one filter."""

COMPARISONS = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
               ast.GreaterThan: ">", ast.GreaterEqual: ">="}
FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
SPATIAL = {ast.GeometryIntersects: "intersects", ast.GeometryDisjoint: "disjoint",
           ast.GeometryWithin: "within", ast.GeometryContains: "contains"}


@dataclass(frozen=True)
class Compare:
    """`name op value` on a property of `kind`."""

    name: str
    kind: str
    op: str
    value: Any


@dataclass(frozen=True)
class Between:
    """`name [NOT] BETWEEN low AND high` (both ends included)."""

    name: str
    kind: str
    low: Any
    high: Any
    negate: bool = False


@dataclass(frozen=True)
class Like:
    """`name [NOT] LIKE pattern`: `parts` are literal text, `%` (any text) or `_` (one
    character), in order."""

    name: str
    parts: tuple[str, ...]
    nocase: bool = False
    negate: bool = False

    def regex(self) -> re.Pattern[str]:
        """The pattern as an anchored regular expression."""
        body = "".join(".*" if p == "%" else "." if p == "_" else re.escape(p[1:])
                       for p in self.parts)
        return re.compile(body, re.DOTALL | (re.IGNORECASE if self.nocase else 0))

    def sql_pattern(self) -> str:
        """The pattern for SQL `LIKE ... ESCAPE '\\'`."""
        out = []
        for p in self.parts:
            if p in ("%", "_"):
                out.append(p)
            else:
                out.append(re.sub(r"([%_\\])", r"\\\1", p[1:]))
        return "".join(out)


@dataclass(frozen=True)
class InList:
    """`name [NOT] IN (values)`."""

    name: str
    kind: str
    values: tuple[Any, ...]
    negate: bool = False


@dataclass(frozen=True)
class IsNull:
    """`name IS [NOT] NULL`."""

    name: str
    negate: bool = False


@dataclass(frozen=True)
class Spatial:
    """`S_<op>(geometry, literal)`: `op` is intersects, disjoint, within or contains (of the
    feature geometry with respect to the literal), CRS84."""

    op: str
    geometry: shapely.Geometry


@dataclass(frozen=True)
class Logic:
    """`AND` / `OR` of two or more parts."""

    op: str
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Negation:
    """`NOT part`."""

    part: Expr


@dataclass(frozen=True)
class Constant:
    """`INCLUDE` (true) or `EXCLUDE` (false)."""

    value: bool


Expr = Compare | Between | Like | InList | IsNull | Spatial | Logic | Negation | Constant
"""A typed filter expression."""


NOT_RULES = (
    '            | "NOT"i predicate                                               -> not_\n'
    '            | "NOT"i "(" predicate ")"                                       -> not_')
"""pygeofilter 0.4's CQL2 text grammar negates a predicate only, so `NOT ((a) AND (b))` and
`NOT (NOT (a))` (what GDAL's OAPIF driver writes for `-where "NOT (a AND b)"`) do not parse."""
NOT_ANY = '            | "NOT"i condition_1                                             -> not_'
"""The rule put in their place: `NOT` over any condition, parenthesised or not."""


@cache
def _text_parser() -> Callable[[str], Any]:
    """CQL2 text → pygeofilter AST: pygeofilter's grammar and transformer, with `NOT` over
    any condition (`NOT_ANY`); pygeofilter's own parser if its grammar has changed."""
    from lark import Lark
    from pygeofilter.parsers.cql2_text import parser as module

    folder = os.path.dirname(module.__file__)
    with open(os.path.join(folder, "grammar.lark"), encoding="utf-8") as handle:
        grammar = handle.read()
    if NOT_RULES not in grammar:
        return pygeofilter_parse_text
    lark = Lark(grammar.replace(NOT_RULES, NOT_ANY), parser="lalr", maybe_placeholders=False,
                transformer=module.CQLTransformer(), import_paths=[os.path.dirname(folder)])
    return lark.parse


def parse_text(text: str) -> Any:
    """A CQL2 text filter as pygeofilter's AST."""
    return _text_parser()(text)


def _bad(detail: str, parameter: str = "filter") -> InvalidQuery:
    return InvalidQuery(detail, parameter=parameter)


def filter_lang(lang: str | None, text: str) -> str:
    """The language of a filter: `filter-lang` if given (cql-text → cql2-text), else JSON
    when the text starts with `{`, else text.

    Raises:
        InvalidQuery: an unknown `filter-lang` (naming it).
    """
    if lang is None:
        return "cql2-json" if text.lstrip().startswith("{") else "cql2-text"
    if lang not in LANGS:
        raise _bad(f"filter-lang must be one of {', '.join(LANGS)}", "filter-lang")
    return "cql2-text" if lang == "cql-text" else lang


def parse_filter(text: str, lang: str | None, info: CollectionInfo) -> Expr:
    """The `filter` of a request, typed against the collection's properties.

    Args:
        text: the filter as sent (CQL2 text, or CQL2 JSON as text).
        lang: `filter-lang` as sent, or None.
        info: the collection (its property names and kinds).

    Raises:
        InvalidQuery: a filter that does not parse, names a property the collection cannot be
            filtered on, compares it with a literal of another type, or uses an operator not
            supported (naming `filter`); an unknown `filter-lang` (naming it).
    """
    language = filter_lang(lang, text)
    if not text.strip():
        raise _bad("filter is empty")
    if len(text) > MAX_FILTER_CHARS:
        raise _bad(f"filter is longer than {MAX_FILTER_CHARS} characters")
    try:
        node = parse_json(json.loads(text)) if language == "cql2-json" else parse_text(text)
    except RecursionError:
        raise _bad("filter is nested too deeply") from None
    except Exception as error:  # lark and pygeofilter raise many types; all are bad input
        raise _bad(f"filter is not valid {language}: {_short(error)}") from None
    counter = [0]
    return _compile(node, info.kinds(), info.id, counter)


def _short(error: Exception) -> str:
    first = str(error).strip().splitlines()
    return (first[0] if first else type(error).__name__)[:200]


def _attribute(node: Any, kinds: Mapping[str, str], collection: str) -> tuple[str, str]:
    if not isinstance(node, ast.Attribute):
        raise _bad("a comparison needs a property on one side and a literal on the other")
    name = str(node.name)
    kind = kinds.get(name)
    if kind is None:
        raise _bad(f"{name[:100]!r} is not a queryable property of {collection}; see "
                   f"/collections/{collection}/queryables")
    if kind not in FILTER_KINDS:
        raise _bad(f"{name!r} ({kind}) cannot be filtered on with filter; use datetime")
    return name, kind


def _literal(value: Any, kind: str, name: str) -> Any:
    """A literal checked against the property's kind (ints widen to numbers)."""
    if isinstance(value, ast.Node | values.Geometry | values.Envelope):
        raise _bad(f"{name} must be compared with a literal")
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind in ("integer", "number") and isinstance(value, int | float) \
            and not isinstance(value, bool):
        return value
    shown = json.dumps(value, default=str)[:60]
    raise _bad(f"{name} takes {kind} values, not {shown}")


def _compile(node: Any, kinds: Mapping[str, str], collection: str, counter: list[int]) -> Expr:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise _bad(f"filter has more than {MAX_NODES} terms")
    if isinstance(node, ast.And | ast.Or):
        op = "and" if isinstance(node, ast.And) else "or"
        return Logic(op, (_compile(node.lhs, kinds, collection, counter),
                          _compile(node.rhs, kinds, collection, counter)))
    if isinstance(node, ast.Not):
        return Negation(_compile(node.sub_node, kinds, collection, counter))
    if isinstance(node, ast.Include):
        return Constant(not node.not_)
    if type(node) in COMPARISONS:
        op = COMPARISONS[type(node)]
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            lhs, rhs, op = rhs, lhs, FLIPPED[op]
        name, kind = _attribute(lhs, kinds, collection)
        value = _literal(rhs, kind, name)
        if kind == "boolean" and op not in ("=", "<>"):
            raise _bad(f"{name} is boolean: only = and <> apply")
        return Compare(name, kind, op, value)
    if isinstance(node, ast.Between):
        name, kind = _attribute(node.lhs, kinds, collection)
        if kind not in ("integer", "number", "string"):
            raise _bad(f"BETWEEN needs a number or text property, not {name}")
        return Between(name, kind, _literal(node.low, kind, name),
                       _literal(node.high, kind, name), bool(node.not_))
    if isinstance(node, ast.Like):
        name, kind = _attribute(node.lhs, kinds, collection)
        if kind != "string":
            raise _bad(f"LIKE needs a text property, not {name} ({kind})")
        return Like(name, _like_parts(str(node.pattern), node.escapechar or "\\"),
                    bool(node.nocase), bool(node.not_))
    if isinstance(node, ast.In):
        name, kind = _attribute(node.lhs, kinds, collection)
        items = tuple(_literal(v, kind, name) for v in node.sub_nodes)
        if not items:
            raise _bad("IN needs at least one value")
        return InList(name, kind, items, bool(node.not_))
    if isinstance(node, ast.IsNull):
        name, _ = _attribute(node.lhs, kinds, collection)
        return IsNull(name, bool(node.not_))
    if type(node) in SPATIAL:
        return _spatial(SPATIAL[type(node)], node.lhs, node.rhs)
    if isinstance(node, ast.BBox):
        box = shapely.box(node.minx, node.miny, node.maxx, node.maxy)
        return _spatial("intersects", node.lhs, box)
    what = type(node).__name__ if isinstance(node, ast.Node) else repr(node)[:40]
    raise _bad(f"{what} is not supported in filters here (comparisons, LIKE, IN, BETWEEN, "
               "IS NULL, AND/OR/NOT and S_INTERSECTS/S_DISJOINT/S_WITHIN/S_CONTAINS are)")


def _like_parts(pattern: str, escape: str) -> tuple[str, ...]:
    """`%`, `_` and literal runs (prefixed `=`) of a LIKE pattern."""
    parts: list[str] = []
    literal = ""
    chars = iter(pattern)
    for char in chars:
        if char == escape:
            literal += next(chars, "")
        elif char in "%_":
            if literal:
                parts.append("=" + literal)
                literal = ""
            parts.append(char)
        else:
            literal += char
    if literal:
        parts.append("=" + literal)
    return tuple(parts)


def _geometry(value: Any) -> shapely.Geometry:
    if isinstance(value, values.Geometry):
        geometry = shapely.geometry.shape(value.geometry)
    elif isinstance(value, values.Envelope):
        geometry = shapely.box(value.x1, value.y1, value.x2, value.y2)
    elif isinstance(value, ast.Function) and str(value.name).lower() == "bbox" \
            and len(value.arguments) in (4, 6):
        args = [float(a) for a in value.arguments]
        west, south, east, north = args if len(args) == 4 else (args[0], args[1], args[3],
                                                                  args[4])
        geometry = shapely.box(west, south, east, north)
    else:
        raise _bad("a spatial predicate needs the feature geometry and a literal geometry "
                   "(WKT, GeoJSON or BBOX) in CRS84")
    if not geometry.is_valid or geometry.is_empty:
        raise _bad("the filter's geometry is empty or not valid")
    return geometry


def _spatial(op: str, lhs: Any, rhs: Any) -> Spatial:
    if isinstance(rhs, ast.Attribute) and not isinstance(lhs, ast.Attribute):
        lhs, rhs = rhs, lhs
        op = {"within": "contains", "contains": "within"}.get(op, op)
    if not isinstance(lhs, ast.Attribute) or str(lhs.name) != GEOMETRY_QUERYABLE:
        raise _bad(f"spatial predicates apply to the feature geometry, named "
                   f"{GEOMETRY_QUERYABLE!r}")
    geometry = rhs if isinstance(rhs, shapely.Geometry) else _geometry(rhs)
    return Spatial(op, geometry)


def names(expr: Expr) -> set[str]:
    """The property names an expression reads."""
    if isinstance(expr, Logic):
        return set().union(*(names(p) for p in expr.parts))
    if isinstance(expr, Negation):
        return names(expr.part)
    if isinstance(expr, Spatial | Constant):
        return set()
    return {expr.name}
