"""Offline STAC validation: pystac's bundled core schemas, plus extension schemas from a folder.

    python -m data_catalog.stac_validation --schemas DIR FILE_OR_DIR...

validates every STAC JSON file given (or found below a folder) against the core schemas and,
with `--schemas`, against the extension schemas in DIR (files whose `$id` is the extension's
schema URI, as in the design's `schemas/stac-extensions/`). No network is used: an extension
whose schema is not in DIR is an error, never a download.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pystac
from pystac.validation import JsonSchemaSTACValidator, validate_dict


class OfflineValidator(JsonSchemaSTACValidator):
    """pystac's JSON-schema validator that never fetches a schema."""

    def __init__(self, extension_schemas: Path | None = None) -> None:
        super().__init__()
        if extension_schemas is not None:
            for path in sorted(extension_schemas.glob("*.json")):
                schema = json.loads(path.read_text(encoding="utf-8"))
                uri = str(schema.get("$id", "")).rstrip("#")
                if uri:
                    self.schema_cache[uri] = schema

    def _get_schema(self, schema_uri: str) -> dict[str, Any]:
        key = schema_uri.rstrip("#")
        if key not in self.schema_cache:
            raise pystac.STACValidationError(f"no local schema for {schema_uri} (offline)")
        return self.schema_cache[key]


def validate(stac: dict[str, Any], validator: OfflineValidator, *,
             extensions: bool = True) -> list[Any]:
    """Validate one STAC object (dict); core only when `extensions` is False.

    Raises:
        pystac.STACValidationError: the object breaks a schema.
    """
    return validate_dict(stac, extensions=None if extensions else [], validator=validator)


def stac_files(paths: Iterable[Path]) -> list[Path]:
    """STAC JSON files among `paths` (folders searched recursively)."""
    found: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for candidate in candidates:
            data = json.loads(candidate.read_text(encoding="utf-8"))
            if isinstance(data, dict) and "stac_version" in data:
                found.append(candidate)
    return found


def main(argv: list[str] | None = None) -> int:
    """Validate files; print one line each; exit 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", type=Path, help="folder of extension schemas")
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    validator = OfflineValidator(args.schemas)
    failures = 0
    files = stac_files(args.paths)
    for path in files:
        try:
            validate(json.loads(path.read_text(encoding="utf-8")), validator,
                     extensions=args.schemas is not None)
        except pystac.STACValidationError as exc:
            failures += 1
            print(f"INVALID {path}: {str(exc)[:500]}")
    print(f"{len(files) - failures} valid, {failures} invalid STAC files")
    return 1 if failures or not files else 0


if __name__ == "__main__":
    sys.exit(main())
