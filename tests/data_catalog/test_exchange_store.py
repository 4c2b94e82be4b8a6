"""The exchange's versions on both version stores (the data dir's folder and PostgreSQL):
submit, supersede, withdraw, history and currency; displacement submissions and their rule;
the configured rules and deadlines computed by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import shapely

from data_catalog.exchange import store as exchange
from data_catalog.exchange.rules import ExchangeConfig, Rule, Side
from data_catalog.exchange.validate import ForeignCountry, Located, validate_submission
from data_catalog.ingest import IngestRefused
from data_catalog.ingest.versions import version_store
from data_catalog.paths import DataDir

HEADER = ("country,point_id,admin_area,month,direction,nationality,sex,age_group,route_class,"
          "country_role,provider,count")
DISPLACEMENT = "country,admin_area,month,event_id,hazard,sex,age_group,provider,count"


def write(tmp_path: Path, name: str, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def data(demo_inputs: Path, copy_data_dir: Callable[[Path], Path]) -> DataDir:
    return DataDir(copy_data_dir(demo_inputs))


def test_versions_on_both_stores(data: DataDir, tmp_path: Path,
                                 version_backend: str | None) -> None:
    store = version_store(data)
    first = write(tmp_path, "a.csv", [
        "PAN,PA-BCH,,2024-01,northbound,VEN,F,18-59,regional,transit,SNM,10",
        "PAN,PA-BCH,,2024-02,northbound,VEN,F,18-59,regional,transit,SNM,20"])
    a = exchange.submit(data, store, first, kind="crossings", country="PAN", user="t")
    second = write(tmp_path, "b.csv", [
        "PAN,PA-BCH,,2024-02,northbound,VEN,F,18-59,regional,transit,SNM,25"])
    b = exchange.submit(data, store, second, kind="crossings", country="PAN", user="t")
    assert sorted(r["count"] for r in exchange.current_rows(store, "PAN", "crossings")) == \
        [10, 25]
    exchange.withdraw(data, store, kind="crossings", country="PAN", months=["2024-01"],
                      user="t")
    history = exchange.history(store, "PAN", "crossings")
    assert [h["id"] for h in history[:2]] == [a.id, b.id]
    assert history[0]["months"] == {"2024-01": "withdrawn", "2024-02": "superseded"}
    assert history[0]["status"] == "superseded"
    assert history[1]["months"] == {"2024-02": "current"}
    assert exchange.read_submission(store, a.id)["rows"][0]["count"] == 10
    assert [r["count"] for r in exchange.current_rows(store, "PAN", "crossings")] == [25]
    (status,) = exchange.status(store, today=date(2024, 4, 1))
    assert status["last_month"] == "2024-02" and status["stale"] is False
    with pytest.raises(exchange.UnknownSubmission):
        exchange.read_submission(store, "PAN.crossings.99")


def test_displacement_submissions_and_their_rule(data: DataDir, tmp_path: Path) -> None:
    store = version_store(data)
    good = write(tmp_path, "d.csv", [
        "PAN,PA-5,2024-03,FL-2024-01,flood,F,0-4,SINAPROC,30",
        "PAN,PA-5,2024-03,FL-2024-01,flood,F,18-59,SINAPROC,70"], DISPLACEMENT)
    outcome = exchange.submit(data, store, good, kind="displacement", country="PAN", user="t")
    assert outcome.manifest["months"] == ["2024-03"]
    assert exchange.status(store)[0]["kind"] == "displacement"
    bad = write(tmp_path, "e.csv", ["PAN,PA-5,2024-03,FL-2024-01,tsunami,F,0-4,X,1",
                                    "PAN,CO-ANT,2024-03,FL-2024-01,flood,F,0-4,X,1"],
                DISPLACEMENT)
    with pytest.raises(IngestRefused) as refused:
        exchange.submit(data, store, bad, kind="displacement", country="PAN", user="t")
    assert [(e.line, e.column, e.issue) for e in refused.value.report.rejected()] == [
        (2, "hazard", "unknown_code"), (3, "admin_area", "outside_region")]


def config(*rules: Rule) -> ExchangeConfig:
    return ExchangeConfig(deadline_days=30, stale_after_days=120, max_count=1000,
                          max_rows=100, rules=list(rules))


def test_a_configured_rule_by_hand(tmp_path: Path) -> None:
    """ZZZ at most half of a point's month: 11 of 20 breaks it (11 > 0.5 × 20 = 10), 10 of 20
    keeps it; an error rule refuses every line of the group, a warning only reports."""
    rule = Rule(id="zzz", kind="crossings", description="ZZZ at most half",
                group_by=["point_id", "month"], left=Side(where={"nationality": "ZZZ"}),
                operator="<=", right=Side(factor=0.5), importance="error")
    places = Located({"PA-BCH": shapely.Point(-77.8, 8.4)})

    def rows(zzz: int) -> Path:
        return write(tmp_path, f"z{zzz}.csv", [
            f"PAN,PA-BCH,,2024-01,northbound,ZZZ,F,18-59,regional,transit,SNM,{zzz}",
            f"PAN,PA-BCH,,2024-01,northbound,VEN,F,18-59,regional,transit,SNM,{20 - zzz}"])

    kept = validate_submission(rows(10), kind="crossings", country="PAN", places=places,
                               config=config(rule), today=date(2024, 6, 1))
    assert len(kept.rows) == 2
    with pytest.raises(IngestRefused) as refused:
        validate_submission(rows(11), kind="crossings", country="PAN", places=places,
                            config=config(rule), today=date(2024, 6, 1))
    assert [e.line for e in refused.value.report.rejected()] == [2, 3]
    assert "11 <= 10 does not hold" in refused.value.report.rejected()[0].detail
    warning = rule.model_copy(update={"importance": "warning"})
    flagged = validate_submission(rows(11), kind="crossings", country="PAN", places=places,
                                  config=config(warning), today=date(2024, 6, 1))
    assert [e.issue for e in flagged.report.entries] == ["validation_rule"]
    with pytest.raises(ForeignCountry):
        validate_submission(rows(1), kind="crossings", country="COL", places=places,
                            config=config(), today=date(2024, 6, 1))


def test_deadlines_by_hand() -> None:
    """2024-02 ends on 29 February (leap year); due 30 days later: 30 March."""
    cfg = config()
    assert exchange.month_due("2024-02", cfg) == date(2024, 3, 30)
    assert exchange.month_due("2024-12", cfg) == date(2025, 1, 30)
    assert exchange.timeliness(["2024-01", "2024-02"], datetime(2024, 3, 2, tzinfo=UTC),
                               cfg) == "late"  # 2024-01 was due on 1 March
    assert exchange.timeliness(["2024-02"], datetime(2024, 3, 2, tzinfo=UTC), cfg) == "on_time"
