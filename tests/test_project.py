"""The project's own front door: README, Makefile, CI, compose file and Dockerfile agree."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

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


def test_compose_runs_the_api_from_this_dockerfile() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    api = compose["services"]["api"]
    assert api["build"] == "."
    assert "8000:8000" in api["ports"]
    volume = api["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert api["environment"]["CMRISK_DATA_DIR"] == api["volumes"][0].split(":")[1]


def test_dockerfile_copies_real_paths_and_calls_real_commands() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (\S+)", dockerfile, re.M):
        assert (REPO / source).exists(), source
    cmd = re.search(r'^CMD \["sh", "-c", "(.*)"\]', dockerfile, re.M)
    assert cmd is not None
    used = set()
    for part in re.split(r"&&|\|\|", cmd.group(1)):
        words = shlex.split(part.strip(" ()[]"))
        if words and words[0] == "exec":
            words = words[1:]
        if len(words) > 1 and words[0] == "cmrisk":
            used.add(words[1])
    assert used <= cli_commands(), used - cli_commands()
    assert {"demo", "run", "serve"} <= used


def test_every_setting_is_documented_in_security_md() -> None:
    from geo_service.settings import Settings

    text = (REPO / "SECURITY.md").read_text(encoding="utf-8")
    undocumented = [name for name in Settings.model_fields if name != "data_dir"
                    and f"`{name}`" not in text and f"CMRISK_{name.upper()}" not in text]
    assert undocumented == []
