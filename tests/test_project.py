"""The project's own front door: README, Makefile, CI, compose file and Dockerfile agree."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from typer.main import get_command

from geo_service.cli import app

REPO = Path(__file__).resolve().parents[1]


def cli_commands() -> set[str]:
    command = get_command(app)
    return set(command.commands)  # type: ignore[attr-defined]


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join((REPO / "README.md").read_text(encoding="utf-8").splitlines()[:25])
    assert "make run" in first_screen and "make test" in first_screen
    assert "http://127.0.0.1:8000" in first_screen


def test_makefile_targets_and_ci() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    for target in ("run", "test", "install", "demo", "pipeline", "serve", "bench"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (REPO / ".ci/run").read_text(encoding="utf-8")
    # pytest's exit 5 (no tests collected) must fail the target.
    assert "-eq 5" in makefile


def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def cmrisk_subcommands(command: str) -> set[str]:
    """The `cmrisk` subcommands a shell command line calls (`cmrisk db load` -> `db`)."""
    used = set()
    for part in re.split(r"&&|\|\||;|\bthen\b|\belse\b", command):
        words = shlex.split(part.strip(" ()[]"))
        while words and words[0] in ("exec", "if", "fi"):
            words = words[1:]
        if len(words) > 1 and words[0] == "cmrisk":
            used.add(words[1])
    return used


def test_compose_config_is_valid() -> None:
    """`docker-compose config` (Debian's docker-compose; no engine needed) accepts the file."""
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: apt-get install docker-compose (make test does)"
    done = subprocess.run([binary, "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_compose_runs_the_whole_stack_from_this_dockerfile() -> None:
    config = compose()
    services = config["services"]
    assert {"api", "postgis", "dask-scheduler", "dask-worker", "pipeline"} <= set(services)
    ours = {name: s for name, s in services.items() if name != "postgis"}
    for name, service in ours.items():
        assert service["build"] == "." and service["image"] == "cmrisk:latest", name
        volume, mount = service["volumes"][0].split(":")
        assert volume in config["volumes"] and service["environment"]["CMRISK_DATA_DIR"] == mount
    api = services["api"]
    assert "8000:8000" in api["ports"]
    assert "--workers" in api["command"][-1] and "CMRISK_WORKERS" in api["environment"]
    # A worker can be scaled (no fixed container name) and joins the scheduler's port.
    worker, scheduler = services["dask-worker"], services["dask-scheduler"]
    assert "container_name" not in worker
    port = scheduler["command"][scheduler["command"].index("--port") + 1]
    assert f"tcp://dask-scheduler:{port}" in worker["command"]
    assert f"--scheduler tcp://dask-scheduler:{port}" in services["pipeline"]["command"][-1]
    assert services["pipeline"]["restart"] == "no"
    assert api["depends_on"]["pipeline"]["condition"] == "service_completed_successfully"


def test_compose_postgis_is_the_feature_store() -> None:
    services = compose()["services"]
    postgis = services["postgis"]
    assert postgis["image"].startswith("postgis/postgis:15-3")
    assert postgis["volumes"][0].split(":")[0] in compose()["volumes"]
    assert "pg_isready" in " ".join(postgis["healthcheck"]["test"])
    env = postgis["environment"]
    for name in ("api", "pipeline"):
        url = services[name]["environment"]["CMRISK_DATABASE_URL"]
        assert url.startswith(f"postgresql://{env['POSTGRES_USER']}:")
        assert url.endswith(f"@postgis:5432/{env['POSTGRES_DB']}")
        assert services[name]["depends_on"]["postgis"]["condition"] == "service_healthy"


def test_compose_commands_are_real_commands() -> None:
    for name, service in compose()["services"].items():
        command = service.get("command")
        if command is None:
            continue
        text = command[-1] if command[0] == "sh" else " ".join(command)
        used = cmrisk_subcommands(text)
        assert used <= cli_commands(), (name, used - cli_commands())
        if command[0] == "dask":
            assert command[1] in ("scheduler", "worker"), name


def test_dockerfile_copies_real_paths_and_calls_real_commands() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (\S+)", dockerfile, re.M):
        assert (REPO / source).exists(), source
    cmd = re.search(r'^CMD \["sh", "-c", "(.*)"\]', dockerfile, re.M)
    assert cmd is not None
    used = cmrisk_subcommands(cmd.group(1))
    assert used and used <= cli_commands(), used - cli_commands()
    assert {"demo", "run", "serve"} <= used


def test_every_setting_is_documented_in_security_md() -> None:
    from geo_service.settings import Settings

    text = (REPO / "SECURITY.md").read_text(encoding="utf-8")
    undocumented = [name for name in Settings.model_fields if name != "data_dir"
                    and f"`{name}`" not in text and f"CMRISK_{name.upper()}" not in text]
    assert undocumented == []
