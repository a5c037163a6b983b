"""The Alertmanager config: valid for amtool, and each severity reaches its receiver."""

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]  # the run_tool fixture


def config(deploy_dir: Path) -> Path:
    return deploy_dir / "alertmanager" / "alertmanager.yml"


def test_the_config_passes_amtool(deploy_dir: Path, run_tool: Run) -> None:
    result = run_tool(
        "amtool", "check-config", config(deploy_dir), package="prometheus-alertmanager"
    )
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=C2RServiceDown", "service=school-monitor"], "ops-page"),
        (["severity=warning", "alertname=C2RRequestsOverdue"], "ops-ticket"),
        (["alertname=SomethingWithoutSeverity"], "ops-ticket"),
    ],
)
def test_alerts_are_routed_by_severity(
    deploy_dir: Path, run_tool: Run, labels: list[str], receiver: str
) -> None:
    result = run_tool(
        "amtool",
        "config",
        "routes",
        "test",
        f"--config.file={config(deploy_dir)}",
        *labels,
        package="prometheus-alertmanager",
    )
    assert result.stdout.strip() == receiver
