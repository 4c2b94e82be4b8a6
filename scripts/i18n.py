"""Extract cmrisk's messages into the gettext template and merge them into each catalogue.

    python scripts/i18n.py extract   # data_catalog/i18n/locales/cmrisk.pot
    python scripts/i18n.py update    # merge the template into every <lang>/LC_MESSAGES/cmrisk.po
    python scripts/i18n.py check     # exit 1 when a message has no translation (make lint)

Messages come from the Python code of the four packages (`_()`, `gettext()`, `N_()`,
`ngettext()`), from the Jinja templates of the service (`{{ _("...") }}`) and from the field
texts of `layers/fields.yaml` (titles and descriptions are English there, translated here).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_catalog.i18n import DOMAIN, LANGUAGES, LOCALES_DIR, SOURCE_LANGUAGE  # noqa: E402

PACKAGES = ("data_catalog", "pipelines", "layers", "geo_service")
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"


def field_messages() -> list[tuple[str, str]]:
    """(message, where) of every title, description and unit in `layers/fields.yaml` (units
    a card shows: not "1" or "score 0-10")."""
    import yaml

    path = ROOT / "layers" / "fields.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["fields"]
    found = []
    for entry in entries:
        for key in ("title", "description", "units"):
            if entry.get(key) and not (key == "units" and entry[key] in ("1", "score 0-10")):
                found.append((str(entry[key]), f"layers/fields.yaml:{entry['name']}"))
    return found


def extract() -> Catalog:
    """The template: every message of the code, the templates and the field texts."""
    template = Catalog(project="cmrisk", domain=DOMAIN, charset="utf-8")
    for package in PACKAGES:
        for filename, lineno, message, comments, _context in extract_from_dir(
                ROOT / package, METHODS, keywords=KEYWORDS, comment_tags=("i18n:",),
                options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
            template.add(message, None, [(f"{package}/{filename}", lineno)],
                         auto_comments=comments)
    for message, where in field_messages():
        template.add(message, None, [(where, 0)])
    return template


def write(catalog: Catalog, path: Path) -> None:
    """Write a catalogue as a .po/.pot file (sorted, no line numbers: small diffs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, omit_header=False,
                 include_lineno=False)


def catalogue_path(language: str) -> Path:
    """The .po file of a language."""
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def update(template: Catalog) -> None:
    """Merge the template into every catalogue (new messages empty, gone ones dropped)."""
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        path = catalogue_path(language)
        if path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language, domain=DOMAIN)
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, project="cmrisk")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        write(catalog, path)


def untranslated(template: Catalog) -> list[str]:
    """`<lang>: <message>` for every message of the template a catalogue lacks."""
    missing = []
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        with catalogue_path(language).open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN)
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id)
            strings = found.string if found is not None else None
            if isinstance(strings, tuple | list):
                strings = all(strings) and strings
            if found is None or found.fuzzy or not strings:
                key = message.id[0] if isinstance(message.id, tuple | list) else message.id
                missing.append(f"{language}: {key}")
    return missing


def main(argv: list[str]) -> int:
    """Run one of `extract`, `update`, `check`."""
    command = argv[1] if len(argv) > 1 else "check"
    template = extract()
    if command == "extract":
        write(template, TEMPLATE)
    elif command == "update":
        write(template, TEMPLATE)
        update(template)
    missing = untranslated(template)
    for line in missing:
        print(f"untranslated: {line}", file=sys.stderr)
    return 1 if missing and command == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
