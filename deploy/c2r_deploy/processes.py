"""Waiting for the processes of a topology to come up."""

import subprocess
import time

import httpx


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Polls `url` until it answers 200; fails early if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process behind {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} was not ready within {timeout:.0f}s")
