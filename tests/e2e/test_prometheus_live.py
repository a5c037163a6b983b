"""Debian's Prometheus and Alertmanager on the production topology, with the project's rules
and routes: every target up, every rule evaluated without error, and an alert that fires
when its condition is made true — a school-monitor replica stopped is down, pending, then
firing, and reaches Alertmanager routed to the page receiver."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from topology import BIN, Topology, free_port, service_env, stop, wait_for

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = ("assessment-api", "request-intake", "school-monitor")
STEP_SECONDS = 1  # scrape and evaluation interval: the rules' windows are minutes


@dataclass
class Monitoring:
    prometheus: str
    alertmanager: str
    spare: subprocess.Popen[bytes]  # a second school-monitor replica, stopped by a test
    spare_target: str

    def api(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.prometheus}/api/v1/{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()["data"]


def binary(name: str, package: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is required (Debian package {package}); `make system-deps` installs it"
    return path


def start_spare_school_monitor(
    production: Topology, root: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """One more school-monitor process on a database of its own: a replica to stop."""
    service = next(s for s in production.routes.services if s.name == "school-monitor")
    port = free_port()
    env = service_env(
        service.env_prefix, f"sqlite+aiosqlite:///{root / 'spare.db'}", production.secret, {}
    )
    with (root / "spare.log").open("wb") as log:
        process = subprocess.Popen(
            [BIN / service.command, "serve", "--migrate", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=log,
        )
    wait_for(f"http://127.0.0.1:{port}/readyz", process)
    return process, f"127.0.0.1:{port}"


def prometheus_config(production: Topology, spare_target: str, alertmanager: str) -> str:
    targets = {name: [production.services[name].removeprefix("http://")] for name in SERVICES}
    targets["school-monitor"].append(spare_target)
    config = {
        "global": {
            "scrape_interval": f"{STEP_SECONDS}s",
            "evaluation_interval": f"{STEP_SECONDS}s",
        },
        "rule_files": [str(DEPLOY / "prometheus" / "rules" / "*.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {"job_name": name, "static_configs": [{"targets": hosts}]}
            for name, hosts in targets.items()
        ],
    }
    return yaml.safe_dump(config)


@pytest.fixture(scope="module")
def monitoring(
    production: Topology, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Monitoring]:
    root = tmp_path_factory.mktemp("monitoring")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        spare, spare_target = start_spare_school_monitor(production, root)
        processes.append(spare)
        alertmanager_port, prometheus_port = free_port(), free_port()
        alertmanager = f"127.0.0.1:{alertmanager_port}"
        command = [
            binary("prometheus-alertmanager", "prometheus-alertmanager"),
            f"--config.file={DEPLOY / 'alertmanager' / 'alertmanager.yml'}",
            f"--storage.path={root / 'alertmanager'}",
            f"--web.listen-address={alertmanager}",
            "--cluster.listen-address=",  # one instance, no gossip port
        ]
        processes.append(start(command, root / "alertmanager.log"))
        wait_for(f"http://{alertmanager}/-/ready", processes[-1])
        (root / "prometheus.yml").write_text(
            prometheus_config(production, spare_target, alertmanager)
        )
        command = [
            binary("prometheus", "prometheus"),
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ]
        processes.append(start(command, root / "prometheus.log"))
        wait_for(f"http://127.0.0.1:{prometheus_port}/-/ready", processes[-1])
        yield Monitoring(
            f"http://127.0.0.1:{prometheus_port}", f"http://{alertmanager}", spare, spare_target
        )
    finally:
        stop(processes)


def start(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=log)


def eventually(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(STEP_SECONDS)


def test_every_target_is_up(monitoring: Monitoring) -> None:
    def all_up() -> list[dict[str, Any]] | None:
        targets = monitoring.api("targets")["activeTargets"]
        return targets if targets and all(t["health"] == "up" for t in targets) else None

    targets = eventually(all_up, 30, "every target up")
    assert {t["labels"]["job"] for t in targets} == set(SERVICES)
    assert len(targets) == 4


def rule_names_in_files() -> list[str]:
    """Every recording and alerting rule the project ships, so a rule Prometheus failed to
    load is missed here, and a new rule file needs no count updated."""
    files = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
    groups = [g for f in files for g in yaml.safe_load(f.read_text())["groups"]]
    return [rule.get("record") or rule["alert"] for g in groups for rule in g["rules"]]


def test_every_rule_is_evaluated_without_error(monitoring: Monitoring) -> None:
    def evaluated() -> list[dict[str, Any]] | None:
        rules = [r for g in monitoring.api("rules")["groups"] for r in g["rules"]]
        return (
            rules
            if rules
            and all(
                r.get("lastEvaluation", "").startswith("2") and r["health"] != "unknown"
                for r in rules
            )
            else None
        )

    rules = eventually(evaluated, 30, "every rule evaluated")
    assert sorted(r["name"] for r in rules) == sorted(rule_names_in_files())
    unhealthy = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not unhealthy
    # The recording rules produce series from the live services' metrics.
    result = monitoring.api("query", query="service:c2r_http_requests:rate5m")["result"]
    assert {sample["metric"]["service"] for sample in result} <= set(SERVICES)


def test_a_stopped_replica_is_down_pending_then_firing_and_paged(monitoring: Monitoring) -> None:
    eventually(lambda: not service_down_alerts(monitoring), 30, "no C2RServiceDown at first")
    stop([monitoring.spare])
    pending = eventually(
        lambda: [a for a in service_down_alerts(monitoring) if a["state"] == "pending"],
        30,
        "C2RServiceDown pending",
    )
    assert pending[0]["labels"]["instance"] == monitoring.spare_target
    # `for: 2m` in the rule, unchanged: the alert fires two minutes after it went pending.
    firing = eventually(
        lambda: [a for a in service_down_alerts(monitoring) if a["state"] == "firing"],
        150,
        "C2RServiceDown firing",
    )
    assert firing[0]["labels"] == {
        "alertname": "C2RServiceDown",
        "instance": monitoring.spare_target,
        "job": "school-monitor",
        "severity": "critical",
    }
    received = eventually(
        lambda: [
            alert
            for alert in httpx.get(f"{monitoring.alertmanager}/api/v2/alerts", timeout=10).json()
            if alert["labels"]["alertname"] == "C2RServiceDown"
        ],
        30,
        "the alert received by Alertmanager",
    )
    assert [receiver["name"] for receiver in received[0]["receivers"]] == ["ops-page"]


def service_down_alerts(monitoring: Monitoring) -> list[dict[str, Any]]:
    alerts = monitoring.api("alerts")["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == "C2RServiceDown"]
