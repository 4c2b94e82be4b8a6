"""Source descriptions: every YAML loads, names a reader that imports, and fits the catalogue."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import yaml

from data_catalog.errors import UnknownSource
from data_catalog.sources import SOURCES_DIR, get_source, load_sources, sources_table

EXPECTED = {"wdpa", "missing_migrants", "idmc_gidd", "flow_counts", "chirps", "jrc_flood",
            "natural_earth", "route_segments", "admin_units"}


def test_all_sources_load() -> None:
    sources = load_sources()
    assert set(sources) == EXPECTED
    for source in sources.values():
        assert source.citation and source.licence and source.landing_page.startswith("https://")
        assert all(v.units for v in source.variables)


def test_every_reader_imports() -> None:
    for source in load_sources().values():
        assert callable(source.reader_function())
        for fmt in source.formats:
            assert callable(source.reader_function(fmt.name))
    with pytest.raises(KeyError, match="formats"):
        get_source("chirps").reader_function("xlsx")


def test_access_credentials_and_redistribution() -> None:
    assert get_source("flow_counts").access == "restricted"
    assert get_source("flow_counts").download is None
    wdpa = get_source("wdpa")
    assert "Forbidden" in wdpa.redistribution
    assert wdpa.credentials_env == ["CMRISK_PROTECTED_PLANET_TOKEN"]
    idmc = get_source("idmc_gidd")
    assert idmc.download is not None and idmc.download.auth is not None
    assert idmc.download.auth.env == "CMRISK_IDMC_CLIENT_ID" and idmc.download.auth.required
    assert "{year}" in idmc.download.files[0].url
    assert "{tile_id}" in get_source("jrc_flood").download.files[0].url  # type: ignore[union-attr]


def test_unknown_source_lists_known_ids() -> None:
    with pytest.raises(UnknownSource) as info:
        get_source("wdpa2")
    message = str(info.value)
    assert "wdpa2" in message and all(i in message for i in EXPECTED)
    assert isinstance(info.value, LookupError)


def test_sources_table_rows() -> None:
    rows = sources_table()
    assert [r["id"] for r in rows] == sorted(EXPECTED)
    for row in rows:
        assert set(row) == {"id", "title", "provider", "access", "formats", "update_frequency",
                            "licence", "credentials", "redistribution", "fetch"}
        assert all(isinstance(v, str) for v in row.values())
    by_id = {r["id"]: r for r in rows}
    assert by_id["idmc_gidd"]["credentials"] == "CMRISK_IDMC_CLIENT_ID"
    assert by_id["flow_counts"]["fetch"] == "no"


def test_a_bad_template_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load((SOURCES_DIR / "chirps.yaml").read_text(encoding="utf-8"))
    data["download"]["files"][0]["url"] = "{base}/{yaer}.nc"
    (tmp_path / "chirps.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(pydantic.ValidationError, match="yaer"):
        load_sources(tmp_path)


def test_id_must_match_file_name(tmp_path: Path) -> None:
    text = (SOURCES_DIR / "natural_earth.yaml").read_text(encoding="utf-8")
    (tmp_path / "ne.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="does not match"):
        load_sources(tmp_path)
