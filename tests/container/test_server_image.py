"""The server image, really built from the root Dockerfile and really started.

buildah builds both stages on local Debian bases (`build_base.sh node` and `python`,
cached): the UI with npm in the Node stage, the package with the UI inside in the Python
stage. The image must run as its own non-root user with /data as a volume and a health
check; started (with a password, on 127.0.0.1 and a free port: chroot isolation shares
the host's network), it answers `/api/v1/health`, serves the UI at `/` and keeps the API
behind the password; its HEALTHCHECK command passes inside the container; without a
password its default (all interfaces) is refused.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.container.buildah import base_image, buildah, command, require_tools, run_in
from tests.procs import die_with_parent

pytestmark = [pytest.mark.container, pytest.mark.timeout(2400)]

IMAGE = "localhost/bananabatch-server:test"
PASSWORD = "image-test-password"

if not sys.platform.startswith("linux") or os.geteuid() != 0:
    pytest.skip("buildah with vfs + chroot isolation needs Linux as root", allow_module_level=True)


@pytest.fixture(scope="module")
def server_image() -> Iterator[str]:
    require_tools()
    node_base, python_base = base_image("node"), base_image("python")
    buildah("rm", "--all", check=False)
    buildah("rmi", "--force", IMAGE, check=False)
    buildah(
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",  # OCI images have no HEALTHCHECK
        "--build-arg",
        f"NODE_IMAGE={node_base}",
        "--build-arg",
        f"PYTHON_IMAGE={python_base}",
        "--file",
        "Dockerfile",
        "--tag",
        IMAGE,
        ".",
        timeout=1800,
    )
    yield IMAGE
    buildah("rmi", "--force", IMAGE, check=False)
    buildah("rmi", "--prune", check=False)


@pytest.fixture(scope="module")
def config(server_image: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(buildah("inspect", "--type", "image", server_image))
    docker: dict[str, Any] = found["Docker"]["config"]
    return docker


@pytest.fixture(scope="module")
def container(server_image: str) -> Iterator[str]:
    name = buildah("from", "--quiet", server_image).strip()
    yield name
    buildah("rm", name, check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_image_is_configured_to_serve(config: dict[str, Any]) -> None:
    assert config["User"] == "bananabatch"
    assert "/data" in (config.get("Volumes") or {})
    assert config["Cmd"] == ["bananabatch", "serve"]
    assert "BANANABATCH_DATA_DIR=/data" in config["Env"]
    health = config["Healthcheck"]["Test"]
    assert health[0] == "CMD" and "/api/v1/health" in " ".join(health)


def test_the_image_refuses_all_interfaces_without_a_password(container: str) -> None:
    done = run_in(container, "bananabatch", "serve", timeout=120)
    assert done.returncode != 0
    assert "without a password" in done.stdout + done.stderr


def test_the_image_serves_health_ui_and_a_guarded_api(
    container: str, config: dict[str, Any]
) -> None:
    port = _free_port()
    env = ["BANANABATCH_HOST=127.0.0.1", f"BANANABATCH_PORT={port}"]
    env.append(f"BANANABATCH_PASSWORD={PASSWORD}")
    argv = command("run", "--isolation", "chroot")
    for item in env:
        argv += ["--env", item]
    proc = subprocess.Popen(
        [*argv, container, "--", *config["Cmd"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the server inside is in this group: stopped with it
        preexec_fn=die_with_parent,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        status, body = 0, b""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body = _get(f"{base}/api/v1/health", timeout=2)
                if status == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        assert status == 200, proc.stdout.read().decode() if proc.poll() is not None else body
        assert json.loads(body)["ok"] is True

        status, page = _get(f"{base}/")
        assert status == 200 and b"<html" in page and b"/_next/static/" in page
        assert _get(f"{base}/api/v1/jobs")[0] == 401  # the password guards the API

        # the image's own HEALTHCHECK command, run inside the container as Docker would
        test = config["Healthcheck"]["Test"][1:]
        checked = run_in(container, "env", f"BANANABATCH_PORT={port}", *test, timeout=60)
        assert checked.returncode == 0, checked.stderr[-2000:]
        # and it runs as the image's user, who owns the data volume
        who = run_in(container, "sh", "-c", "id -un; stat -c %U /data")
        assert who.stdout.split() == ["bananabatch", "bananabatch"], who.stdout + who.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with pytest.raises((urllib.error.URLError, OSError)):
        _get(f"{base}/api/v1/health", timeout=2)
