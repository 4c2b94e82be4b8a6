"""The service and the layer package know no layer, input or surface by name (issue 12).

Every id a region file defines — its outputs, indicators (each is a layer), inputs, surfaces
and area sets — is searched for in `geo_service/` and `layers/` as a string literal of the
Python code, as a quoted token inside code kept in strings (JavaScript, HTML), and as a quoted
token in any other code file there. Tests are not searched. Nothing is allowed: a layer's name,
role, style, legend and popups come from its metadata in the registry.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pipelines.config import known_regions, load_region

REPO = Path(__file__).resolve().parents[1]
SEARCHED = ("geo_service", "layers")
CODE_SUFFIXES = (".js", ".html", ".css", ".jinja", ".j2", ".py.tmpl")
EMBEDDED_CODE_CHARS = 40
"""A string constant this long may hold code (JavaScript, HTML): it is searched for quoted
ids as well as compared whole."""


def region_ids() -> set[str]:
    """Every id a region file defines, over all region files."""
    ids: set[str] = set()
    for region in known_regions():
        config = load_region(region)
        ids |= set(config.inputs) | set(config.surfaces) | set(config.indicators)
        ids |= set(config.areas) | {output.id for output in config.outputs}
    return ids


def _quoted(text: str, ids: set[str]) -> list[str]:
    return [m.group(2) for m in re.finditer(r"""(['"`])([a-z0-9_\-]+)\1""", text)
            if m.group(2) in ids]


def literals_in_python(source: str, ids: set[str]) -> list[tuple[int, str]]:
    """(line, id) of every string constant equal to an id, or quoting one inside it.

    Docstrings (string statements) are prose, not code, and are not searched.
    """
    tree = ast.parse(source)
    prose = {id(node.value) for node in ast.walk(tree)
             if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in prose:
            if node.value in ids:
                found.append((node.lineno, node.value))
            elif len(node.value) >= EMBEDDED_CODE_CHARS:
                found += [(node.lineno, name) for name in _quoted(node.value, ids)]
    return sorted(found)


def offending_literals(root: Path, ids: set[str]) -> list[str]:
    """`path:line: id` for every layer, input or surface id spelt out under `root`."""
    problems = []
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        where = path.relative_to(root.parent)
        if path.suffix == ".py":
            problems += [f"{where}:{line}: {name!r}"
                         for line, name in literals_in_python(path.read_text("utf-8"), ids)]
        elif path.name.endswith(CODE_SUFFIXES):
            problems += [f"{where}: {name!r}" for name in _quoted(path.read_text("utf-8"), ids)]
    return problems


def test_the_ids_come_from_every_region_file() -> None:
    ids = region_ids()
    assert {"risk", "crossings", "countries", "flood_rp10", "transit_pressure",
            "planning_units", "flood"} <= ids
    assert len(ids) > 40


@pytest.mark.parametrize("package", SEARCHED)
def test_no_layer_input_or_surface_id_is_spelt_out(package: str) -> None:
    problems = offending_literals(REPO / package, region_ids())
    assert not problems, "layer names in code:\n" + "\n".join(problems)


def test_the_search_finds_a_planted_name(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text(
        'X = {"risk": 1}\nJS = """var layer = "crossings"; var nothing = "other"; //"""\n'
        'OK = "risky"\n"""A docstring may say `risk`, to explain what the code does."""\n',
        encoding="utf-8")
    (package / "b.js").write_text("map.get('countries');", encoding="utf-8")
    found = offending_literals(package, {"risk", "crossings", "countries"})
    assert found == ["pkg/a.py:1: 'risk'", "pkg/a.py:2: 'crossings'", "pkg/b.js: 'countries'"]
