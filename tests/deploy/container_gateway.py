"""Real nginx with the container gateway's config, on loopback: the deploy tests' helpers
(on the pytest pythonpath)."""

import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def local_config(config: str, root: Path, port: int) -> str:
    """The container config on loopback ports, its files under `root`; the services' port
    answers nothing (a 502 is not a 429)."""
    dead = free_port()
    config = re.sub(r"server ([a-z-]+):8080", f"server 127.0.0.1:{dead}", config)
    config = config.replace("listen 0.0.0.0:8000", f"listen 127.0.0.1:{port}")
    config = re.sub(r"listen 8081;", f"listen 127.0.0.1:{free_port()};", config)
    config = config.replace("pid /tmp/nginx.pid", f"pid {root}/nginx.pid")
    config = config.replace("/dev/stdout", str(root / "access.log"))
    return re.sub(r"_temp_path /tmp/", f"_temp_path {root}/", config)


@contextmanager
def serving(config: str, root: Path) -> Iterator[str]:
    """Real nginx with `config` (the container config made local by local_config) in
    `root`, until the block ends: its base URL."""
    port = free_port()
    (root / "nginx.conf").write_text(local_config(config, root, port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    command = [nginx, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"]
    with (root / "stderr.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, (root / "stderr.log").read_text()
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def nginx_root(prefix: str) -> Iterator[Path]:
    # Its workers run as nobody: a folder they may enter, not pytest's private one.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
