"""Region configs: clear errors for unknown regions and weights that do not sum to 1."""

from __future__ import annotations

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
    assert "'V'" in str(caught.value) and "sum to" in str(caught.value)


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
