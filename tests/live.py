"""The real server in its own process, for tests whose client is another process or library
(GDAL's OAPIF driver, a browser): one helper instead of a copy per test module."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

DEMO_PASSWORD = "safemap-demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(url: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SAFEMAP_SECRET_KEY": "k" * 40,
        "SAFEMAP_HOME": str(home),
        "SAFEMAP_DEMO_PASSWORD": DEMO_PASSWORD,
    }


def load_demo(env: dict[str, str]) -> None:
    loaded = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", "load"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]


@contextlib.contextmanager
def serve(url: str, tmp_path_factory, *, demo: bool = False) -> Iterator[str]:
    """``safemap serve`` on database ``url`` (with the demo data loaded first when ``demo``);
    yields the base URL and stops the server afterwards."""
    env = server_env(url, tmp_path_factory.mktemp("home"))
    if demo:
        load_demo(env)
    port = free_port()
    log_path = tmp_path_factory.mktemp("log") / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            else:
                pytest.fail(f"server did not start: {log_path.read_text()}")
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def token(base: str, username: str, password: str = DEMO_PASSWORD) -> str:
    r = httpx.post(f"{base}/api/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]
