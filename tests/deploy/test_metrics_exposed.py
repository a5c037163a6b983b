"""Every metric a dashboard or a rule names is exposed by what runs in the topology: the
three services started for real (as the end-to-end tests start them),
PostgreSQL's exporter on the test server and nginx's exporter on a real nginx; and every
recorded series they read is recorded by a rule."""

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from topology import BIN, free_port, service_env, stop, wait_for

from c2r_common.testing import pg_server_url
from c2r_deploy.routes import load_routes

# Once per CI run, on the PostgreSQL pass: its exporter watches that server (the services
# themselves run on SQLite files, which start faster; the metrics are the same).
pytestmark = pytest.mark.postgresql_only

# A metric name standing alone (not part of a recorded level:metric:operation name).
METRIC = re.compile(r"(?<![\w:])([a-zA-Z_][a-zA-Z0-9_]*)(?![\w:(])")
RECORDED = re.compile(r"(?<![\w:])([a-z_]+:[a-zA-Z0-9_:]+)")
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "le", "inf", "nan",
    "sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values",
}  # fmt: skip
# Series Prometheus makes itself.
FROM_PROMETHEUS = {"up", "ALERTS"}
SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count", ""),
}


def expressions(deploy_dir: Path) -> list[str]:
    found = []
    for path in (deploy_dir / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [rule["expr"] for rule in group["rules"]]
    for path in (deploy_dir / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            found += [target["expr"] for target in panel.get("targets", [])]
    return found


def names_in(expression: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', expression)
    without_labels = re.sub(r"\{[^}]*\}", "", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    without_groupings = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", without_ranges
    )
    words = set(METRIC.findall(without_groupings)) - PROMQL_WORDS
    return {word for word in words if not re.fullmatch(r"\d.*|e\d+", word)}


def sample_names(exposition: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {family.name + suffix for suffix in SAMPLE_SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[set[str]]:
    root = tmp_path_factory.mktemp("exposed")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        urls = start_services(root, processes) + start_exporters(root, processes)
        yield scrape_until_complete(urls)
    finally:
        stop(processes)


def start_services(root: Path, processes: list[subprocess.Popen[bytes]]) -> list[str]:
    routes = load_routes()
    secret = secrets.token_urlsafe(48)
    ports = {service.name: free_port() for service in routes.services}
    peers = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    for service in routes.services:
        url = f"sqlite+aiosqlite:///{root / service.name}.db"
        env = service_env(service.env_prefix, url, secret, peers)
        command = [BIN / service.command, "serve", "--port", str(ports[service.name])]
        with (root / f"{service.name}.log").open("wb") as log:
            processes.append(
                subprocess.Popen([*command, "--migrate"], env=env, stdout=log, stderr=log)
            )
    for name, process in zip(ports, processes, strict=True):
        wait_for(f"{peers[name]}/readyz", process, timeout=120)
    return [f"{url}/metrics" for url in peers.values()]


def start_exporters(root: Path, processes: list[subprocess.Popen[bytes]]) -> list[str]:
    """PostgreSQL's and nginx's exporters (Debian packages), each on what it watches."""
    nginx_port, status_port, pg_port, nginx_exporter_port = (free_port() for _ in range(4))
    (root / "nginx.conf").write_text(
        f"pid {root}/nginx.pid;\nerror_log {root}/nginx-error.log;\nevents {{}}\n"
        f"http {{ access_log off; client_body_temp_path {root}; proxy_temp_path {root};\n"
        f"  server {{ listen 127.0.0.1:{status_port};\n"
        f"    location = /stub_status {{ stub_status; }} }}\n"
        f"  server {{ listen 127.0.0.1:{nginx_port}; return 204; }} }}\n"
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    commands = {
        "nginx": [nginx, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"],
        "prometheus-nginx-exporter": [
            "prometheus-nginx-exporter",
            f"--nginx.scrape-uri=http://127.0.0.1:{status_port}/stub_status",
            f"--web.listen-address=127.0.0.1:{nginx_exporter_port}",
        ],
        "prometheus-postgres-exporter": [
            "prometheus-postgres-exporter",
            f"--web.listen-address=127.0.0.1:{pg_port}",
        ],
    }
    dsn = re.sub(r"^postgresql\+\w+://", "postgresql://", pg_server_url())
    for name, command in commands.items():
        path = shutil.which(command[0])
        assert path, f"{name} is required (Debian package {name}): make system-deps"
        with (root / f"{name}.log").open("wb") as log:
            env = {"DATA_SOURCE_NAME": f"{dsn}?sslmode=disable", "PATH": "/usr/bin:/bin"}
            processes.append(
                subprocess.Popen([path, *command[1:]], stdout=log, stderr=log, env=env)
            )
    return [
        f"http://127.0.0.1:{nginx_exporter_port}/metrics",
        f"http://127.0.0.1:{pg_port}/metrics",
    ]


def scrape_until_complete(urls: list[str], timeout: float = 60.0) -> set[str]:
    """What the targets expose, once the services' background rounds exported their gauges."""
    deadline = time.monotonic() + timeout
    while True:
        names: set[str] = set()
        for url in urls:
            with contextlib.suppress(httpx.TransportError):  # an exporter still starting
                names |= sample_names(httpx.get(url, timeout=5).text)
        wanted = {"c2r_school_monitor_agents_seen_24h", "c2r_intake_overdue_requests", "pg_up"}
        if wanted <= names or time.monotonic() > deadline:
            return names
        time.sleep(1)


def test_every_metric_the_rules_and_dashboards_name_is_exposed(
    deploy_dir: Path, exposed: set[str]
) -> None:
    named = set().union(*map(names_in, expressions(deploy_dir)))
    assert {"c2r_http_requests_total", "c2r_db_pool_in_use", "nginx_connections_active"} <= named
    missing = named - exposed - FROM_PROMETHEUS
    assert not missing, f"named by a rule or dashboard, exposed by nothing: {sorted(missing)}"


def test_every_recorded_series_read_is_recorded_by_a_rule(deploy_dir: Path) -> None:
    recorded: set[str] = set()
    for path in (deploy_dir / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            recorded |= {rule["record"] for rule in group["rules"] if "record" in rule}
    read: set[str] = set()
    for expression in expressions(deploy_dir):
        read |= set(RECORDED.findall(re.sub(r'"[^"]*"', '""', expression)))
    assert read
    assert read <= recorded, sorted(read - recorded)


def test_the_dashboards_use_the_provisioned_datasource(deploy_dir: Path) -> None:
    provisioned: Any = yaml.safe_load(
        (deploy_dir / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uid = provisioned["datasources"][0]["uid"]
    dashboards = sorted((deploy_dir / "grafana" / "dashboards").glob("*.json"))
    assert [path.stem for path in dashboards] == [
        "platform-overview",
        "request-intake",
        "school-connectivity",
    ]
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"].startswith("c2r-")
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == uid, (path.name, panel["title"])
