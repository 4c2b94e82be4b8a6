"""The one localisation mechanism: locales, CLDR formats per named locale, fallbacks, refusals,
Accept-Language, and catalogues that translate every message of the code."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from data_catalog.i18n import (
    DEFAULT_LOCALES,
    UnsupportedLanguage,
    language,
    negotiate,
    texts,
)
from tests.conftest import REPO


@pytest.mark.parametrize(("tag", "expected"), [
    ("es-PA", "6,369.25"),   # Panama writes numbers like English
    ("es-CO", "6.369,25"),   # Colombia and most SACM members
    ("pt-BR", "6.369,25"),
    ("en", "6,369.25"),
])
def test_numbers_per_named_locale(tag: str, expected: str) -> None:
    assert language(tag).number(6369.25) == expected


@pytest.mark.parametrize(("tag", "expected"), [
    ("es-PA", "dic. 2024"), ("es-CO", "dic. 2024"), ("pt-BR", "dez. 2024"), ("en", "Dec 2024"),
])
def test_months_per_named_locale(tag: str, expected: str) -> None:
    assert language(tag).month("2024-12") == expected
    assert language(tag).month(dt.date(2024, 12, 31)) == expected


def test_spanish_months_take_a_period_only_when_abbreviated() -> None:
    # CLDR 46 abbreviates Spanish months without a period ("ene", "may", Colombia's "sep");
    # the RAE writes abbreviations with one. Portuguese CLDR names carry it already.
    spanish = language("es-CO")
    assert [spanish.month(f"2024-{m:02d}") for m in (1, 5, 9)] == [
        "ene. 2024", "may. 2024", "sep. 2024"]
    assert language("es").month("2024-09") == "sep. 2024"
    assert language("pt-BR").month("2024-09") == "set. 2024"


def test_integers_percentages_and_missing_values() -> None:
    colombia, panama = language("es-CO"), language("es-PA")
    assert colombia.integer(302203) == "302.203" and panama.integer(302203) == "302,203"
    assert colombia.number(None) == "–" and colombia.number(float("nan")) == "–"
    assert colombia.number(1.035, 2) == "1,04"  # rounded half-even by Babel: 1.035 → 1.04
    assert language("en").percent(0.126) == "13%"
    assert language("es-CO").percent(0.1234, 1) == "12,3%"  # CLDR: no space in es-CO


def test_a_bare_language_takes_the_configured_locale() -> None:
    assert language("es").tag == DEFAULT_LOCALES["es"] == "es-PA"
    assert language("es", {"es": "es-CO"}).tag == "es-CO"
    assert language("es", {"es": "es-CO"}).number(6369.25) == "6.369,25"
    assert language("pt").tag == "pt-BR"
    assert language("es-CO", {"es": "es-PA"}).tag == "es-CO"  # a named locale is kept
    assert language(None).code == "en"


@pytest.mark.parametrize("tag", ["fr", "de-DE", "zz", "not a language", "es-", "x" * 30])
def test_other_languages_are_refused_naming_lang(tag: str) -> None:
    with pytest.raises(UnsupportedLanguage) as error:
        language(tag)
    assert error.value.parameter == "lang" and error.value.status == 400


def test_accept_language_picks_the_best_language_we_speak() -> None:
    assert negotiate("fr-FR,fr;q=0.9,pt-BR;q=0.8,en;q=0.5").tag == "pt-BR"
    assert negotiate("es-CO,es;q=0.9").tag == "es-CO"
    assert negotiate("es;q=0.9", {"es": "es-PA"}).tag == "es-PA"
    assert negotiate("de, fr;q=0.5").code == "en"
    assert negotiate(None).code == "en"
    assert negotiate("en;q=0.1, es;q=0.7").code == "es"
    assert negotiate("es;q=0, pt").code == "pt"


def test_texts_of_the_data_fall_back_in_order() -> None:
    portuguese, spanish = language("pt"), language("es")
    assert portuguese.text({"en": "Risk", "es": "Riesgo", "pt": "Risco"}) == "Risco"
    assert portuguese.text({"en": "Risk", "es": "Riesgo"}) == "Riesgo"  # pt → es → en
    assert spanish.text({"en": "Risk", "pt": "Risco"}) == "Risk"         # es → en
    assert spanish.text(None, "x") == "x"


def test_messages_are_translated_and_plural_rules_apply() -> None:
    assert language("es").gettext("Outside the analysed region") == "Fuera de la región analizada"
    assert language("pt").gettext("Outside the analysed region") == "Fora da região analisada"
    assert language("en").gettext("Outside the analysed region") == "Outside the analysed region"
    assert texts("Risk") == {"en": "Risk", "es": "Riesgo", "pt": "Risco"}
    assert language("es").gettext("a message nobody wrote") == "a message nobody wrote"


def test_every_message_of_the_code_is_translated() -> None:
    """`scripts/i18n.py check` extracts the messages of the code, the templates and
    `layers/fields.yaml` and fails on any without a Spanish or Portuguese translation."""
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "i18n.py"), "check"],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_check_finds_a_message_without_translation(tmp_path, monkeypatch) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import i18n as tool
    finally:
        sys.path.remove(str(REPO / "scripts"))
    template = tool.extract()
    template.add("A message added to the code but not translated")
    missing = tool.untranslated(template)
    assert "es: A message added to the code but not translated" in missing
    assert "pt: A message added to the code but not translated" in missing
