"""The planning map's JavaScript passes ESLint (installed from npm by `make install`, run here
offline), and the linter does catch a planted mistake."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import REPO

ESLINT = REPO / "node_modules" / ".bin" / "eslint"


def _eslint(*paths: Path) -> subprocess.CompletedProcess[str]:
    assert ESLINT.is_file(), "ESLint is missing: run `make install` (npm ci)"
    return subprocess.run([str(ESLINT), "--no-warn-ignored", *map(str, paths)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_the_map_javascript_passes_eslint() -> None:
    result = _eslint(REPO / "geo_service")
    assert result.returncode == 0, result.stdout + result.stderr


def test_eslint_catches_a_planted_mistake(tmp_path: Path) -> None:
    planted = REPO / "geo_service" / "maps" / "static" / "planted-by-test.js"
    planted.write_text("(function () {\n  'use strict';\n  if (x == 1) { eval('1'); }\n}());\n",
                       encoding="utf-8")
    try:
        result = _eslint(planted)
    finally:
        planted.unlink()
    assert result.returncode == 1
    for rule in ("no-undef", "eqeqeq", "no-eval"):
        assert rule in result.stdout, result.stdout
