"""The deployment files and the real tools that check them (Debian packages that
`make system-deps` installs: a missing tool fails, it is never skipped)."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def deploy_dir() -> Path:
    return DEPLOY


@pytest.fixture(scope="session")
def run_tool() -> Run:
    """Runs a tool found on PATH and returns what it printed; fails if it is missing."""

    def run(
        name: str, *args: str | Path, package: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        path = shutil.which(name)
        assert path, (
            f"{name} is required (Debian package {package}); `make system-deps` installs it"
        )
        result = subprocess.run(
            [path, *map(str, args)], capture_output=True, text=True, check=False, timeout=300
        )
        if check:
            assert result.returncode == 0, f"{name} {args}: {result.stdout}\n{result.stderr}"
        return result

    return run
