"""The input-version store, on each implementation (`version_backend`: the data dir's folder
and PostgreSQL): the same numbers, records, bytes and answers, and two ingests at once never
share a version number."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from data_catalog.ingest import UnknownVersion, version_store
from data_catalog.ingest.versions import FileVersionStore, sha256_file
from data_catalog.paths import DataDir


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return DataDir(tmp_path / "data").ensure()


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_the_variable_chooses_the_store(data: DataDir, version_backend: str | None) -> None:
    store = version_store(data)
    assert isinstance(store, FileVersionStore) == (version_backend is None)


def test_records_versions_blobs_and_find(data: DataDir, tmp_path: Path,
                                         version_backend: str | None) -> None:
    store = version_store(data)
    assert store.inputs() == [] and store.versions("flow_counts") == []
    assert store.find("inputs/a.csv", "0" * 64) is None
    # 9 MiB of varied bytes: more than one 8 MiB piece on the way into and out of PostgreSQL.
    big = hashlib.shake_256(b"cmrisk").digest(9 * 1024 * 1024)
    a1 = write(tmp_path / "src" / "a1.csv", b"point,count\nPA,1\n")
    a2 = write(tmp_path / "src" / "a2.csv", b"point,count\nPA,2\n")
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = store.record("flow_counts", {"inputs/a.csv": a1}, action="baseline", user="x@y",
                         created=when)
    second = store.record("flow_counts", {"inputs/a.csv": a2,
                                          "inputs/big.bin": write(tmp_path / "src" / "b", big)},
                          action="ingest", file_name="a2.csv", rows={"read": 1, "kept": 1},
                          note="one row", user="x@y", created=when)
    other = store.record("layer:b", {"layers/b/data.parquet": a1}, action="ingest",
                         user="x@y", created=when)
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert store.versions("flow_counts") == [first, second]  # every field round-trips
    assert second.files == {"inputs/a.csv": hashlib.sha256(a2.read_bytes()).hexdigest(),
                            "inputs/big.bin": hashlib.sha256(big).hexdigest()}
    assert store.inputs() == ["flow_counts", "layer:b"]
    assert store.blob(second.files["inputs/big.bin"]).read_bytes() == big
    assert store.blob(first.files["inputs/a.csv"]).read_bytes() == a1.read_bytes()
    with pytest.raises(UnknownVersion):
        store.blob("f" * 64)
    # find: the last input (by id) holding the path with these bytes, its latest version.
    assert store.find("inputs/a.csv", first.files["inputs/a.csv"]) == first
    assert store.find("inputs/a.csv", second.files["inputs/a.csv"]) == second
    assert store.find("layers/b/data.parquet", sha256_file(a1)) == other
    assert store.find("inputs/a.csv", "0" * 64) is None
    keep = getattr(store, "keep_bytes")  # noqa: B009 (not in the protocol; both stores have it)
    digest = keep(b'{"report": 1}')
    assert store.blob(digest).read_bytes() == b'{"report": 1}'


def test_records_at_once_get_distinct_numbers(data: DataDir, tmp_path: Path,
                                              version_backend: str | None) -> None:
    sources = [write(tmp_path / "src" / f"{i}.csv", f"n,{i}\n".encode()) for i in range(8)]
    start = threading.Barrier(len(sources))
    numbers: list[int] = []
    errors: list[BaseException] = []

    def ingest(source: Path) -> None:
        store = version_store(data)  # one store per ingest, as two commands have
        try:
            start.wait()
            for _ in range(3):
                numbers.append(store.record("flow_counts", {"inputs/f.csv": source},
                                            action="ingest").version)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(s,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(numbers) == list(range(1, 25))
    assert [v.version for v in version_store(data).versions("flow_counts")] == \
        list(range(1, 25))


def test_two_ingests_at_once_get_distinct_versions(data: DataDir, tmp_path: Path,
                                                   version_backend: str | None) -> None:
    """Two `cmrisk ingest vector` processes of one layer, started together: each its own
    version, and the layer's folder is one of the two files, whole."""
    files = []
    for n in (2, 3):
        path = tmp_path / f"sites{n}.geojson"
        gpd.GeoDataFrame({"name": [f"s{i}" for i in range(n)]},
                         geometry=shapely.points([(-77.5 + i / 10, 8.2) for i in range(n)]),
                         crs="EPSG:4326").to_file(path)
        files.append(path)
    env = {**os.environ, "CMRISK_DATA_DIR": str(data.root)}
    procs = [subprocess.Popen([sys.executable, "-m", "geo_service.cli", "ingest", "vector",
                               str(path), "--id", "sites"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for path in files]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    history = version_store(data).versions("layer:sites")
    # One baseline (by whichever came first; the other found it) and one version each.
    assert [v.action for v in history].count("ingest") == 2
    assert [v.version for v in history] == list(range(1, len(history) + 1))
    assert {v.file_name for v in history if v.action == "ingest"} == \
        {"sites2.geojson", "sites3.geojson"}
    served = len(gpd.read_parquet(data.layers / "sites" / "data.parquet"))
    assert served in (2, 3)
