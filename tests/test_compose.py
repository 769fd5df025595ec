"""The deployment files: validated by the real compose tool (``docker compose`` or
Debian's ``docker-compose``, installed by ``make compose``; missing, the test fails), and
the image's build steps held to the local install's."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawler.render import BROWSER
from crawler.settings import SETTINGS
from devtools import eslocal

ROOT = Path(__file__).parent.parent
SINGLE = ROOT / "docker-compose.yml"
CLUSTER = ROOT / "docs" / "docker-compose.cluster.yml"
SECRETS = {
    "YUQING_API_SECRET_KEY": "k" * 32,
    "YUQING_SMTP_HOST": "smtp.example.cn",
    "YUQING_ALERTS_PUBLIC_URL": "https://yuqing.example.cn",
}


@functools.cache
def compose_tool() -> tuple[str, ...]:
    """``docker compose`` (the v2 plugin) if the docker CLI has it, else ``docker-compose``."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return (docker, "compose")
    legacy = shutil.which("docker-compose")
    assert legacy, "no compose tool: run `make compose` (installs Debian's docker-compose)"
    return (legacy,)


def compose(
    file: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    return subprocess.run(
        [*compose_tool(), "-f", str(file), *args],
        capture_output=True, text=True, timeout=120, env=environment | (env or {}), cwd=ROOT,
    )  # fmt: skip


@functools.cache
def config(file: Path, *args: str, key_only: bool = False) -> dict[str, Any]:
    """The file as the tool reads it (with every secret set, or only the required key)."""
    env = {"YUQING_API_SECRET_KEY": SECRETS["YUQING_API_SECRET_KEY"]} if key_only else SECRETS
    done = compose(file, *args, "config", env=env)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = yaml.safe_load(done.stdout)
    return data


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@pytest.mark.parametrize("file", [SINGLE, CLUSTER], ids=["single", "cluster"])
def test_compose_files_are_valid(file: Path) -> None:
    services = config(file)["services"]
    client = importlib.metadata.version("elasticsearch")
    es = [s for s in services.values() if "elasticsearch" in s.get("image", "")]
    assert es, "an Elasticsearch service"
    for service in es:
        tag = service["image"].rsplit(":", 1)[1]
        # The server the client was made for, and the one the tests run against.
        assert major_minor(tag) == major_minor(client) and tag == eslocal.ES_VERSION
    runs = [s for s in services.values() if s.get("command", [None, None])[:2] == ["yuqing", "run"]]
    schedulers = [s for s in runs if "--no-crawl" not in s["command"]]
    assert len(schedulers) == 1, "exactly one scheduler and sender"
    for service in runs:
        assert service["environment"]["YUQING_API_SECRET_KEY"] == SECRETS["YUQING_API_SECRET_KEY"]
        assert service["environment"]["YUQING_STORE"].startswith("http://")
    assert schedulers[0]["stop_grace_period"] in ("40s", 40, 40.0)


def test_single_node_by_default_and_the_mail_catcher_in_the_trial_profile() -> None:
    plain = config(SINGLE)["services"]
    # (docker-compose v1 lists services of every profile, v2 only the active ones)
    assert {n for n, s in plain.items() if not s.get("profiles")} == {"elasticsearch", "yuqing"}
    assert plain["elasticsearch"]["environment"]["discovery.type"] == "single-node"
    trial = config(SINGLE, "--profile", "trial", key_only=True)["services"]
    assert trial["mailcatcher"]["profiles"] == ["trial"]
    assert trial["mailcatcher"]["command"][:2] == ["yuqing-dev", "mail-catcher"]
    assert trial["yuqing"]["environment"]["YUQING_SMTP_HOST"] == "mailcatcher"
    cluster = config(CLUSTER)["services"]
    nodes = [s for s in cluster.values() if "elasticsearch" in s.get("image", "")]
    assert len(nodes) == 3 and all("discovery.type" not in n["environment"] for n in nodes)


def test_a_missing_secret_stops_compose() -> None:
    done = compose(SINGLE, "config")
    assert done.returncode != 0
    assert "YUQING_API_SECRET_KEY" in done.stderr


def test_the_image_installs_as_make_install_does() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # Every package the wheel holds is copied into the image.
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"COPY {package} {package}\n" in dockerfile, package
    # The image runs the Makefile's own steps: the assets, then its virtualenv target.
    stamp = re.search(r"^STAMP := (\S+)$", makefile, re.M)
    assert stamp and stamp.group(1) == "$(VENV)/.installed"
    assert "RUN make assets" in dockerfile
    assert "RUN make .venv/.installed PYTHON=python EXTRAS=" in dockerfile
    assert "pip install -q -e '.$(EXTRAS)'" in makefile and "EXTRAS ?= [dev]" in makefile
    assert "pip install" not in dockerfile  # no second way to install
    # Slim on a named Debian release, not root, checked by its health URL.
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", dockerfile, re.M)
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "HEALTHCHECK" in dockerfile and "/api/health" in dockerfile
    # Rendered sources: Debian's chromium in the final stage, where crawler/render.py
    # looks for it; no browser downloaded by Playwright.
    final = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"apt-get install -y --no-install-recommends [^\n]*\bchromium\b", final)
    assert BROWSER == "/usr/bin/chromium" == SETTINGS["YUQING_RENDER_BROWSER"]
    assert "playwright install" not in dockerfile
