"""Region configs: clear errors for unknown regions and weights that do not sum to 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.config import REGIONS_DIR, known_regions, load_region, parse_region
from pipelines.errors import ConfigError, UnknownRegion


def darien_data() -> dict:
    return yaml.safe_load((REGIONS_DIR / "darien.yaml").read_text(encoding="utf-8"))


def test_darien_loads_with_weights_summing_to_one() -> None:
    config = load_region("darien")
    for dimension, weights in config.weights.items():
        assert sum(weights.values()) == pytest.approx(1.0), dimension
    assert config.class_breaks() == [2.0, 3.5, 5.0, 6.5]


def test_unknown_region_lists_the_known_ones() -> None:
    with pytest.raises(UnknownRegion) as caught:
        load_region("atlantis")
    message = str(caught.value)
    assert "atlantis" in message
    assert "darien" in message and known_regions() == caught.value.known


def test_weights_not_summing_to_one_name_the_dimension() -> None:
    data = darien_data()
    data["weights"]["V"]["children"] = 0.5
    with pytest.raises(ConfigError) as caught:
        parse_region(data)
    assert "weights.V: " in str(caught.value) and "sum to 1.2, not 1" in str(caught.value)


def test_weight_of_unknown_indicator_is_named() -> None:
    data = darien_data()
    data["weights"]["C"] = {"station_load": 0.5, "teleporters": 0.5}
    with pytest.raises(ConfigError, match="teleporters"):
        parse_region(data)


def test_region_from_a_yaml_path(tmp_path: Path) -> None:
    data = darien_data()
    data["id"] = "darien_copy"
    path = tmp_path / "copy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_region(path).id == "darien_copy"


# --- config errors: each names its key; the command exits 2 and writes nothing -------------

ONE_OUTPUT = {"id": "risk", "kind": "raster", "from": "risk", "title": {"en": "Risk"},
              "description": {"en": "Risk."}, "value_type": "continuous",
              "units": "score 0-10"}
BAD_FILES = {
    "unknown surface function": (
        {"surfaces": {"transit_pressure": {"function": "teleport"}}},
        "surfaces.transit_pressure.function", "unknown surface function 'teleport'"),
    "missing input": (
        {"surfaces": {"road_distance": {"inputs": {"lines": "motorways"}}}},
        "surfaces.road_distance.inputs.lines", "no input 'motorways'"),
    "weights not summing to 1": (
        {"weights": {"V": {"children": 0.5}}}, "weights.V", "sum to 1.2, not 1"),
    "unknown style": (
        {"outputs": [{**ONE_OUTPUT, "style": {"kind": "sparkles"}}]}, "outputs.0.style",
        "'sparkles'"),
    "unknown colormap": (
        {"outputs": [{**ONE_OUTPUT, "style": {"kind": "stretch", "colormap": "rainbow_unicorn",
                                              "rescale": [0, 10]}}]},
        "outputs.0.style.stretch.colormap", "unknown colormap 'rainbow_unicorn'"),
    "surface parameter": (
        {"surfaces": {"transit_pressure": {"parameters": {"kernel_km": -3}}}},
        "surfaces.transit_pressure", "parameters.kernel_km: Input should be greater than 0"),
    "indicator from nothing": (
        {"indicators": {"heat": {"from": "sauna"}}}, "indicators.heat.from",
        "'sauna' is neither a raster input nor a surface"),
}


def _override(tmp_path: Path, overrides: dict) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"extends": "darien", **overrides}), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_config_errors_name_their_key(tmp_path: Path, case: str) -> None:
    overrides, key, message = BAD_FILES[case]
    with pytest.raises(ConfigError) as caught:
        load_region(_override(tmp_path, overrides))
    text = str(caught.value)
    assert f"{key}: " in text and message in text, text


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("case", ["unknown surface function", "missing input",
                                  "weights not summing to 1", "unknown style"])
def test_a_bad_region_file_exits_2_and_writes_nothing(demo_run: Path, copy_data_dir,
                                                      tmp_path: Path, case: str) -> None:
    root = copy_data_dir(demo_run)
    before = _tree(root)
    overrides, key, message = BAD_FILES[case]
    result = subprocess.run(
        [sys.executable, "-m", "geo_service.cli", "run", str(_override(tmp_path, overrides)),
         "--data-dir", str(root)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    said = " ".join(result.stderr.split())  # the console wraps long lines at spaces
    assert f"{key}: " in said and message in said and "Traceback" not in said, said
    assert _tree(root) == before


def test_extends_merges_mappings_and_replaces_the_rest(tmp_path: Path) -> None:
    path = _override(tmp_path, {"id": "darien_5km", "grid": {"resolution_m": 5000}})
    config = load_region(path)
    darien = load_region("darien")
    assert config.id == "darien_5km" and config.grid.resolution_m == 5000
    assert config.grid.bounds_lonlat == darien.grid.bounds_lonlat  # merged, not replaced
    assert config.surfaces == darien.surfaces


def test_every_region_file_is_valid() -> None:
    for region in known_regions():
        assert load_region(region).id == region


def test_a_missing_input_file_exits_2_and_writes_nothing(demo_run: Path, copy_data_dir) -> None:
    root = copy_data_dir(demo_run)
    heat = load_region("darien").inputs["heat"].path
    (root / "inputs" / heat).unlink()
    before = _tree(root)
    result = subprocess.run([sys.executable, "-m", "geo_service.cli", "run", "darien",
                             "--data-dir", str(root)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2, result.stderr
    said = " ".join(result.stderr.split())
    assert f"heat ({heat})" in said and "Traceback" not in said, said
    assert _tree(root) == before
