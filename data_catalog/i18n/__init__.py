"""One localisation mechanism for every part of cmrisk: gettext catalogues and CLDR formats.

Everything a person reads — the planning map, score cards, legends, API labels, field
descriptions, area briefs, command-line messages — goes through a `Language`:

- **Words of the code** are gettext messages: English in the code (`_("Risk")`, or `N_()`
  where a constant is only marked), translated in `locales/<lang>/LC_MESSAGES/cmrisk.po`
  (Spanish, Portuguese). The catalogues are compiled with Babel on first use; `make i18n`
  re-extracts the messages (`scripts/i18n.py`), and a test fails when a message of the code
  has no translation.
- **Words of the data** (region files: titles, legends, map labels; names of areas) come per
  language; `Language.text` picks the requested language, else the next of `FALLBACKS`.
- **Numbers and dates** are CLDR formats of the full locale (Babel): `es-PA` writes
  6,369.25, `es-CO` and `pt-BR` 6.369,25.

A request names a language (`lang=es`) or a locale (`lang=es-CO`); a bare language resolves to
the locale the deployment configures (`Settings.locales`, e.g. `es` → `es-PA` for Panama's
ministry, `es-CO` for a deployment in Colombia). Any other language is refused with
`UnsupportedLanguage`, a 400 problem naming `lang`.

The module sits at the start of the data flow (like `data_catalog.problems`), so that the
catalogue, the pipelines, the layers, the service and the exchange all use this one mechanism.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_locale_identifier
from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from data_catalog.problems import InvalidParameter

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "cmrisk"
SOURCE_LANGUAGE = "en"
"""The language of the code's messages and the one every text of the data must have."""
LANGUAGES: tuple[str, ...] = ("en", "es", "pt")
"""The languages cmrisk speaks (a catalogue each, but English, the source)."""
DEFAULT_LOCALES: dict[str, str] = {"en": "en", "es": "es-PA", "pt": "pt-BR"}
"""The locale a bare language resolves to when the deployment configures none: Panama's
ministry is the first user (es-PA writes numbers like English); SACM's Portuguese is Brazil's."""
FALLBACKS: dict[str, tuple[str, ...]] = {"en": (), "es": ("en",), "pt": ("es", "en")}
"""Where a text of the data missing in a language is taken from, in order. Portuguese falls
back to Spanish before English: the two are close enough that a Spanish title reads better
to a Brazilian planner than an English one."""
ABBREVIATED_MONTH_PERIOD: frozenset[str] = frozenset({"es"})
"""Languages whose abbreviated month names take a final period ("dic. 2024", as the
Ortografía of the RAE writes abbreviations) where CLDR leaves it out (CLDR 46 writes "dic");
Portuguese CLDR names have it already ("dez.")."""
MISSING = "–"
"""What a missing number is shown as."""


def N_(message: str) -> str:
    """Mark a message for extraction without translating it here (constants)."""
    return message


class UnsupportedLanguage(InvalidParameter):
    """A language (or locale) cmrisk does not speak: a 400 naming `lang`."""

    default_parameter = "lang"


def _locale_tag(locale: Locale) -> str:
    return get_locale_identifier((locale.language, locale.territory, locale.script,
                                  locale.variant), sep="-")


@cache
def catalog(language: str) -> Catalog | None:
    """The compiled gettext catalogue of a language (None for the source language)."""
    if language == SOURCE_LANGUAGE:
        return None
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


@cache
def _messages(language: str) -> dict[str, str | tuple[str, ...]]:
    found = catalog(language)
    if found is None:
        return {}
    table: dict[str, str | tuple[str, ...]] = {}
    for message in found:
        if not message.id or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        if isinstance(message.string, tuple | list):
            if all(message.string):
                table[key] = tuple(message.string)
        elif message.string:
            table[key] = message.string
    return table


@dataclass(frozen=True)
class Language:
    """The language and locale of one reader: translations, texts of the data, CLDR formats.

    Attributes:
        code: the language (`en`, `es`, `pt`): which catalogue and which texts of the data.
        locale: the full CLDR locale (`es_PA`): how numbers and dates are written.
    """

    code: str
    locale: Locale

    @property
    def tag(self) -> str:
        """The BCP 47 tag of the locale (`es-PA`), as HTML's `lang` and HTTP want it."""
        return _locale_tag(self.locale)

    def gettext(self, message: str) -> str:
        """`message` (English, as written in the code) in this language."""
        found = _messages(self.code).get(message)
        return found if isinstance(found, str) else message

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural message for `n`, in this language (CLDR plural rules)."""
        found = _messages(self.code).get(singular)
        if isinstance(found, tuple):
            index = 0 if self.locale.plural_form(n) == "one" else 1
            return found[min(index, len(found) - 1)]
        return singular if n == 1 else plural

    def text(self, texts: Mapping[str, str] | None, default: str = "") -> str:
        """A text of the data given per language (`{en: …, es: …}`): this language's, else
        the first of its `FALLBACKS`, else any, else `default`."""
        if not texts:
            return default
        for code in (self.code, *FALLBACKS.get(self.code, (SOURCE_LANGUAGE,))):
            if texts.get(code):
                return texts[code]
        return next((value for value in texts.values() if value), default)

    def number(self, value: float | None, digits: int = 2) -> str:
        """A number with exactly `digits` decimals, grouped as the locale writes it."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return MISSING
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return format_decimal(value, format=pattern, locale=self.locale,
                              decimal_quantization=True)

    def integer(self, value: float | None) -> str:
        """A whole number, grouped as the locale writes it (6,369 or 6.369)."""
        return self.number(None if value is None else round(float(value)), 0)

    def percent(self, share: float | None, digits: int = 0) -> str:
        """A share (0–1) as a percentage in the locale's way (`12 %`, `12%`)."""
        if share is None or (isinstance(share, float) and math.isnan(share)):
            return MISSING
        pattern = self.locale.percent_formats[None].pattern
        if digits > 0:
            pattern = pattern.replace("#,##0", "#,##0." + "0" * digits, 1)
        return format_percent(share, format=pattern, locale=self.locale)

    def month(self, month: str | dt.date) -> str:
        """A calendar month (`2024-12` or a date), abbreviated: "dic. 2024", "dez. 2024",
        "Dec 2024"."""
        day = month if isinstance(month, dt.date) else dt.date.fromisoformat(f"{month}-01")
        name = self.locale.months["format"]["abbreviated"][day.month]
        if self.code in ABBREVIATED_MONTH_PERIOD and not name.endswith("."):
            full = self.locale.months["format"]["wide"][day.month]
            if len(name) < len(full):
                name += "."
        return f"{name} {day.year}"

    def date(self, value: dt.date | dt.datetime | str | None) -> str:
        """A date in the locale's long format ("2 de diciembre de 2026", "December 2, 2026"):
        unambiguous where the medium one is not (es-PA writes 12/02/2026)."""
        if value is None or value == "":
            return MISSING
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, dt.datetime):
            value = value.date()
        return format_date(value, format="long", locale=self.locale)

    def symbols(self) -> dict[str, str]:
        """The locale's decimal and group separators (for the map's JavaScript)."""
        numbers = self.locale.number_symbols.get("latn", self.locale.number_symbols)
        return {"decimal": str(numbers["decimal"]), "group": str(numbers["group"])}


def _parse(tag: str) -> Locale:
    try:
        return Locale.parse(tag.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise UnsupportedLanguage(
            f"unknown language {tag[:40]!r}; use one of {', '.join(LANGUAGES)} or a locale "
            "of one of them such as es-CO") from None


def language(tag: str | None = None, locales: Mapping[str, str] | None = None) -> Language:
    """The `Language` of a request's `lang`: a language (`es`, resolved to the configured
    locale) or a full locale (`es-CO`).

    Args:
        tag: `lang` as given; None or "" is English.
        locales: language → the locale it resolves to (the deployment's `Settings.locales`);
            `DEFAULT_LOCALES` fills in what it leaves out.

    Raises:
        UnsupportedLanguage: not one of `LANGUAGES` (or a locale of one).
    """
    configured = {**DEFAULT_LOCALES, **(locales or {})}
    parsed = _parse(tag or SOURCE_LANGUAGE)
    if parsed.language not in LANGUAGES:
        raise UnsupportedLanguage(
            f"language {tag!r} is not supported; use one of {', '.join(LANGUAGES)} (or a "
            "locale of one of them, such as es-CO or pt-BR)")
    if parsed.territory is None and parsed.script is None:
        parsed = _parse(configured[parsed.language])
    return Language(code=parsed.language, locale=parsed)


def negotiate(accept_language: str | None, locales: Mapping[str, str] | None = None
              ) -> Language:
    """The best supported `Language` for an HTTP `Accept-Language` header (RFC 9110 §12.5.4),
    English when it names none we speak. A locale the header names (`es-CO`) is kept; a bare
    language takes the configured locale."""
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            choices.append((-quality, index, tag))
    for _, _, tag in sorted(choices):
        try:
            return language(tag, locales)
        except UnsupportedLanguage:
            continue
    return language(SOURCE_LANGUAGE, locales)


def every_language(locales: Mapping[str, str] | None = None) -> Iterable[Language]:
    """One `Language` per supported language (its configured locale), English first."""
    return (language(code, locales) for code in LANGUAGES)


def texts(message: str, locales: Mapping[str, str] | None = None) -> dict[str, str]:
    """A message of the code in every language, `{en: …, es: …, pt: …}` (API labels that
    carry all languages at once)."""
    return {lang.code: lang.gettext(message) for lang in every_language(locales)}
