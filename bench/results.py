"""Writing one section of bench/RESULTS.md without touching the others."""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

HEADER = (
    "# Benchmark results\n\n"
    "Each section is written by its script in `bench/`; numbers are from one run.\n"
)


def replace_section(path: Path, title: str, body: str) -> None:
    """Replace (or append) the `## title` section of a Markdown file with `body`."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    stamp = (f"_{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
             f"Python {platform.python_version()}_")
    section = f"## {title}\n\n{stamp}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
