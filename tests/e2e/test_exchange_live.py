"""Two submissions for the same country and months at once, through `cmrisk submit`, against a
real uvicorn with two worker processes: both are recorded, exactly one is current, and a
reader polling meanwhile never sees a partial state (every page it reads is wholly one
submission's, or nothing yet). Nothing here depends on timing: the reader polls until both
submitters have finished, whatever that takes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import live_service

pytestmark = pytest.mark.e2e

HEADER = ("country,point_id,admin_area,month,direction,nationality,sex,age_group,route_class,"
          "country_role,provider,count")
NATIONALITIES = ["VEN", "HTI", "ECU", "COL", "CHN", "IND", "AFG", "CMR", "PER", "BRA"]


def submission(count: int) -> str:
    """Rows for PA-BCH and PA-CAN in 2023-01 and 2023-02, every count equal to `count`."""
    lines = [HEADER]
    for point in ("PA-BCH", "PA-CAN"):
        for month in ("2023-01", "2023-02"):
            for nationality in NATIONALITIES:
                for sex in ("F", "M"):
                    for age in ("0-4", "5-11", "12-17", "18-59", "60+"):
                        lines.append(f"PAN,{point},,{month},northbound,{nationality},{sex},"
                                     f"{age},regional,transit,SNM,{count}")
    return "\n".join(lines) + "\n"


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "geo_service.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, check=False)


def test_two_submissions_at_once(demo_run: Path, copy_data_dir: Callable[[Path], Path],
                                 tmp_path: Path) -> None:
    root = copy_data_dir(demo_run)
    issued = cli("tokens", "issue", "--country", "PAN", "--scope", "submit", "--data-dir", root)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    files = {}
    for count in (111, 222):
        files[count] = tmp_path / f"submission-{count}.csv"
        files[count].write_text(submission(count), encoding="utf-8")
    features_each = 2 * 2 * len(NATIONALITIES)  # point, month, nationality (sexes summed)
    command = [sys.executable, "-m", "uvicorn", "geo_service.asgi:app", "--host", "127.0.0.1",
               "--port", "{port}", "--workers", "2", "--log-level", "warning"]
    with live_service(root, command=command) as url:
        headers = {"Authorization": f"Bearer {token}"}
        seen: list[tuple[str, Any]] = []
        done = threading.Event()

        def poll() -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as reader:
                while True:
                    last = done.is_set()
                    page = reader.get("/collections/exchange_pan/items",
                                      params={"limit": 1000})
                    seen.append(("items", (page.status_code, page.json())))
                    history = reader.get("/exchange/submissions")
                    seen.append(("history", history.json()))
                    if last:
                        return

        reader = threading.Thread(target=poll)
        reader.start()
        submitters = [subprocess.Popen(
            [sys.executable, "-m", "geo_service.cli", "submit", str(files[count]), "--token",
             token, "--url", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for count in (111, 222)]
        outputs = [p.communicate(timeout=600) for p in submitters]
        done.set()
        reader.join(timeout=600)
        for process, (_, stderr) in zip(submitters, outputs, strict=True):
            assert process.returncode == 0, stderr

        final = httpx.get(f"{url}/exchange/submissions", headers=headers, timeout=60).json()
        records = final["submissions"]
        assert len(records) == 2  # both recorded
        assert [r["status"] for r in records] == ["superseded", "current"]
        assert {r["checksum"] for r in records} == {
            hashlib.sha256(f.read_bytes()).hexdigest() for f in files.values()}
        items = httpx.get(f"{url}/collections/exchange_pan/items", headers=headers,
                          params={"limit": 1000}, timeout=60).json()
        current = records[1]
        winner = next(c for c, f in files.items()
                      if hashlib.sha256(f.read_bytes()).hexdigest()
                      == current["checksum"])
        assert {f["properties"]["total"] for f in items["features"]} == {winner * 10}
        assert items["numberMatched"] == features_each

    assert any(kind == "items" for kind, _ in seen)
    for kind, observed in seen:
        if kind == "items":
            status, body = observed
            if status == 404:  # before the first submission made the collection
                continue
            assert status == 200
            totals = {f["properties"]["total"] for f in body["features"]}
            assert body["numberMatched"] == features_each, "a partial collection was served"
            assert totals in ({1110}, {2220}), f"a mix of two submissions: {totals}"
        else:
            statuses = [r["status"] for r in observed["submissions"]]
            assert statuses in ([], ["current"], ["superseded", "current"]), statuses


def test_cli_submit_refusal_withdrawal_and_revocation(demo_inputs: Path,
                                                      copy_data_dir: Callable[[Path], Path],
                                                      tmp_path: Path) -> None:
    root = copy_data_dir(demo_inputs)
    issued = cli("tokens", "issue", "--country", "PAN", "--scope", "submit", "--name", "SNM",
                 "--data-dir", root)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    token_id = issued.stderr.split()[1]
    assert cli("tokens", "issue", "--country", "XXX", "--scope", "submit", "--data-dir",
               root).returncode != 0
    good = tmp_path / "good.csv"
    good.write_text(submission(5), encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(submission(5).replace("PAN,PA-CAN,,2023-02,northbound,VEN,F,0-4",
                                         "PAN,PA-CAN,,2023-02,sideways,VEN,F,0-4", 1),
                   encoding="utf-8")
    bad_line = submission(5).splitlines().index(
        "PAN,PA-CAN,,2023-02,northbound,VEN,F,0-4,regional,transit,SNM,5") + 1
    with live_service(root) as url:
        refused = cli("submit", bad, "--token", token, "--url", url)
        assert refused.returncode == 1
        assert f"line {bad_line}, direction 'sideways'" in refused.stderr
        accepted = cli("submit", good, "--token", token, "--url", url)
        assert accepted.returncode == 0, accepted.stderr
        record = json.loads(accepted.stdout)
        assert record["months"] == {"2023-01": "current", "2023-02": "current"}
        withdrawn = cli("submit", "--withdraw", "2023-02", "--token", token, "--url", url)
        assert withdrawn.returncode == 0, withdrawn.stderr
        assert cli("tokens", "revoke", token_id, "--data-dir", root).returncode == 0
        listed = cli("tokens", "list", "--data-dir", root).stdout
        assert "REVOKED" in listed and token not in listed
        after = cli("submit", good, "--token", token, "--url", url)
        assert after.returncode == 1 and "401" in after.stderr
