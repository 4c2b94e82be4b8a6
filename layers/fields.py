"""What each feature property means, from `layers/fields.yaml` (data, not code): title and
description (English there, every other language from the gettext catalogues of
`data_catalog.i18n`), units, published decimals and published type.

`field_spec(name)` gives the entry a property name matches (exact names first, then patterns
with one `*`, then the catch-all); `FieldTexts` renders its texts for one run, filling in the
layer titles and class labels that patterns refer to (`ind_flood` → "Indicator: River flood").
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from data_catalog.i18n import LANGUAGES, Language, language
from layers.models import Layer

FIELDS_FILE = Path(__file__).with_name("fields.yaml")
DEFAULT_DECIMALS = 4
"""Decimals of published numbers when the entry names none (as `/areas` rounds)."""

FieldType = Literal["date", "datetime"]


@dataclass(frozen=True)
class FieldSpec:
    """One entry of `fields.yaml`.

    Attributes:
        name: a property name, or a pattern with one `*`.
        title: the title in English, the message translated (may hold `{match}`, `{ref}`).
        description: the description in English (same placeholders), possibly empty.
        units: units of the values ("" when none).
        decimals: decimals numbers are published with.
        type: the published type when it differs from the stored one (date or datetime).
        ref: what `{ref}` refers to: "layer", "class" or None.
    """

    name: str
    title: str
    description: str = ""
    units: str = ""
    decimals: int = DEFAULT_DECIMALS
    type: FieldType | None = None
    ref: Literal["layer", "class"] | None = None

    def match(self, name: str) -> str | None:
        """What `*` stood for when `name` matches this entry ("" for an exact match), or None.
        """
        if "*" not in self.name:
            return "" if name == self.name else None
        if not fnmatch.fnmatchcase(name, self.name):
            return None
        head, tail = self.name.split("*", 1)
        return name[len(head):len(name) - len(tail) if tail else None]


def _spec(entry: dict[str, Any]) -> FieldSpec:
    for key in ("title", "description"):
        if key in entry and not isinstance(entry[key], str):
            raise ValueError(f"fields.yaml: {entry['name']!r}: {key} must be one English text "
                             "(its translations live in the gettext catalogues)")
    if not entry.get("title"):
        raise ValueError(f"fields.yaml: {entry['name']!r} has no title")
    return FieldSpec(name=str(entry["name"]), title=str(entry["title"]),
                     description=str(entry.get("description") or ""),
                     units=str(entry.get("units", "")),
                     decimals=int(entry.get("decimals", DEFAULT_DECIMALS)),
                     type=entry.get("type"), ref=entry.get("ref"))


@cache
def field_specs() -> tuple[FieldSpec, ...]:
    """Every entry of `fields.yaml`, in file order."""
    data = yaml.safe_load(FIELDS_FILE.read_text(encoding="utf-8"))
    specs = tuple(_spec(entry) for entry in data["fields"])
    if not specs or specs[-1].name != "*":
        raise ValueError("fields.yaml must end with the catch-all entry '*'")
    return specs


@cache
def field_spec(name: str) -> tuple[FieldSpec, str]:
    """The entry a property name matches, and what its `*` stood for."""
    for spec in field_specs():
        found = spec.match(name)
        if found is not None:
            return spec, found
    raise AssertionError("unreachable: the catch-all matches every name")  # pragma: no cover


@dataclass(frozen=True)
class FieldText:
    """A property's texts for one run.

    Attributes:
        title: language → title.
        description: language → description (empty mapping when there is none).
        units: units of the values ("" when none).
    """

    title: dict[str, str]
    description: dict[str, str]
    units: str


def class_label(klass: Mapping[str, Any], lang: Language) -> str:
    """A risk class's label (the region file's `label`, `label_es`, `labels`) in `lang`."""
    texts = {"en": klass.get("label"), "es": klass.get("label_es"),
             **(klass.get("labels") or {})}
    return lang.text({k: str(v) for k, v in texts.items() if v}, str(klass.get("name", "")))


class FieldTexts:
    """Titles and descriptions of properties for one run: patterns filled in with the run's
    layer titles and risk-class labels.

    Args:
        layers: the registry's layers by id (for `ref: layer`).
        classes: the run's risk classes (`name`, `label`, `label_es`; for `ref: class`).
    """

    def __init__(self, layers: Mapping[str, Layer], classes: Sequence[Mapping[str, Any]],
                 languages: Sequence[Language] | None = None) -> None:
        self.layers = layers
        self.classes = {str(c.get("name")): c for c in classes}
        self.languages = list(languages or [language(code) for code in LANGUAGES])

    def _ref(self, spec: FieldSpec, match: str, lang: Language) -> str:
        if spec.ref == "layer" and match in self.layers:
            return self.layers[match].title_in(lang)
        if spec.ref == "class" and match in self.classes:
            return class_label(self.classes[match], lang) or match
        return match

    def text(self, name: str) -> FieldText:
        """The texts of the property called `name`."""
        spec, match = field_spec(name)

        def fill(template: str, lang: Language) -> str:
            return lang.gettext(template).replace("{match}", match or name).replace(
                "{ref}", self._ref(spec, match, lang))

        return FieldText(
            title={lang.code: fill(spec.title, lang) for lang in self.languages},
            description={lang.code: fill(spec.description, lang) for lang in self.languages
                         if spec.description},
            units=spec.units)

    def schema(self, name: str, json_type: dict[str, Any]) -> dict[str, Any]:
        """A property's JSON Schema: its type (given) with title, description, units and the
        titles in every language (`x-titles`)."""
        text = self.text(name)
        schema = {**json_type, "title": text.title["en"]}
        if text.description:
            schema["description"] = text.description["en"]
        if text.units:
            schema["x-ogc-unit"] = text.units
        schema["x-titles"] = text.title
        if text.description:
            schema["x-descriptions"] = text.description
        return schema
