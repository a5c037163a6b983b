"""The compose topology: rendered by docker-compose itself, its Prometheus config checked by
promtool, its gateway config current and accepted by nginx, its database script run on a
real PostgreSQL server."""

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from assessment_api.config import AssessmentSettings
from c2r_common.auth import service_token_provider
from c2r_common.client_credentials import ClientCredentials
from c2r_common.settings import Environment, ServiceSettings
from c2r_common.testing import pg_admin, pg_server_url
from c2r_deploy.containers import render_container_gateway
from c2r_deploy.routes import load_routes
from request_intake.config import IntakeSettings
from school_monitor.config import SchoolMonitorSettings

Run = Callable[..., subprocess.CompletedProcess[str]]  # the run_tool fixture
SERVICES = ("assessment-api", "request-intake", "school-monitor")


def compose_env(deploy_dir: Path) -> dict[str, str]:
    """example.env with every empty secret set, as an operator's .env would be."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("C2R_")}
    for line in (deploy_dir / "compose" / "example.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value or f"secret-{key.lower()}-{uuid.uuid4().hex}"
    return env


def compose_config(deploy_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is required (Debian package docker-compose): make system-deps"
    return subprocess.run(
        [compose, "-f", deploy_dir / "compose" / "compose.yaml", "config"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="module")
def rendered(deploy_dir: Path) -> dict[str, Any]:
    result = compose_config(deploy_dir, compose_env(deploy_dir))
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_compose_refuses_to_render_without_the_secrets(deploy_dir: Path) -> None:
    env = compose_env(deploy_dir)
    del env["C2R_JWT_JWKS_URL"]
    result = compose_config(deploy_dir, env)
    assert result.returncode != 0
    assert "C2R_JWT_JWKS_URL" in result.stderr or "set in .env" in result.stderr


def test_the_services_verify_tokens_with_the_identity_provider_s_public_keys(
    rendered: dict[str, Any],
) -> None:
    for name in SERVICES:
        environment = rendered["services"][name]["environment"]
        assert not [key for key in environment if key.endswith("_JWT_SECRET")], name
        assert any(key.endswith("_JWT_JWKS_URL") and value for key, value in environment.items())
        algorithms = next(v for k, v in environment.items() if k.endswith("_JWT_ALGORITHMS"))
        assert "HS256" not in algorithms


@pytest.mark.parametrize(
    ("name", "settings_class"),
    [("assessment-api", AssessmentSettings), ("request-intake", IntakeSettings)],
)
def test_the_calling_services_get_their_peer_tokens_from_the_provider(
    rendered: dict[str, Any],
    name: str,
    settings_class: type[ServiceSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in rendered["services"][name]["environment"].items():
        monkeypatch.setenv(key, str(value))
    settings = settings_class()
    provider = service_token_provider(settings, subject=name, scopes=["schools:read"])
    assert isinstance(provider, ClientCredentials)
    assert provider.config.token_url == settings.oauth_token_url
    assert provider.config.client_id == name
    peers = {
        "assessment-api": ["school_monitor_url"],
        "request-intake": ["assessment_api_url", "school_monitor_url"],
    }
    for peer_url in peers[name]:
        assert getattr(settings, peer_url).endswith(":8080"), peer_url  # the service, by name


@pytest.mark.parametrize(
    ("name", "settings_class"),
    [
        ("assessment-api", AssessmentSettings),
        ("request-intake", IntakeSettings),
        ("school-monitor", SchoolMonitorSettings),
    ],
)
def test_each_service_accepts_its_production_environment(
    rendered: dict[str, Any],
    name: str,
    settings_class: type[ServiceSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in rendered["services"][name]["environment"].items():
        monkeypatch.setenv(key, str(value))
    settings = settings_class()
    assert settings.environment is Environment.PRODUCTION
    assert settings.jwt_secret is None
    assert settings.jwt_jwks_url
    assert set(settings.jwt_algorithms) == {"RS256", "ES256"}


def test_the_database_script_refuses_a_password_that_would_break_the_url(
    deploy_dir: Path,
) -> None:
    env = {**os.environ, "PGHOST": "192.0.2.1"}  # never reached: refused before psql
    env |= {f"C2R_{kind}_DB_PASSWORD": uuid.uuid4().hex for kind in ("ASSESSMENT", "EXPORTER")}
    env |= {"C2R_INTAKE_DB_PASSWORD": "p@ss:w/rd%", "C2R_SCHOOLS_DB_PASSWORD": "x"}
    result = subprocess.run(
        ["sh", deploy_dir / "compose" / "postgres-init" / "10-databases.sh"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "C2R_INTAKE_DB_PASSWORD may hold only" in result.stderr


def test_each_service_starts_after_its_migrations_ran_once(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    for name in SERVICES:
        migration = services[f"migrate-{name}"]
        assert migration["command"] == ["migrate"]
        assert migration["restart"] == "no"
        assert migration["image"] == services[name]["image"] == f"c2r/{name}:latest"
        assert migration["depends_on"]["postgres"]["condition"] == "service_healthy"
        condition = services[name]["depends_on"][f"migrate-{name}"]["condition"]
        assert condition == "service_completed_successfully"
        assert migration["environment"] == services[name]["environment"]


def test_each_service_has_its_own_database_and_role(rendered: dict[str, Any]) -> None:
    urls = [
        next(
            v
            for k, v in rendered["services"][name]["environment"].items()
            if k.endswith("_DATABASE_URL")
        )
        for name in SERVICES
    ]
    roles_and_databases = {re.search(r"://(\w+):.*/(\w+)$", url).groups() for url in urls}  # type: ignore[union-attr]
    assert roles_and_databases == {
        ("c2r_assessment", "c2r_assessment"),
        ("c2r_intake", "c2r_intake"),
        ("c2r_schools", "c2r_schools"),
    }


def test_only_the_gateway_grafana_and_prometheus_are_published_on_loopback(
    rendered: dict[str, Any],
) -> None:
    published = {
        name: [
            str(port.get("host_ip", "")) if isinstance(port, dict) else str(port)
            for port in service.get("ports", [])
        ]
        for name, service in rendered["services"].items()
        if service.get("ports")
    }
    assert set(published) == {"gateway", "grafana", "prometheus"}
    for ports in published.values():
        assert all(port.startswith("127.0.0.1") for port in ports), ports
    assert "services" not in rendered["services"]["postgres"]["networks"]


def test_the_monitoring_stack_mounts_the_project_s_rules_dashboards_and_routes(
    rendered: dict[str, Any], deploy_dir: Path
) -> None:
    def sources(name: str) -> set[str]:
        return {str(volume).split(":")[0] for volume in rendered["services"][name]["volumes"]}

    assert str(deploy_dir / "prometheus" / "rules") in sources("prometheus")
    assert str(deploy_dir / "alertmanager" / "alertmanager.yml") in sources("alertmanager")
    assert str(deploy_dir / "grafana" / "dashboards") in sources("grafana")
    assert str(deploy_dir / "grafana" / "provisioning") in sources("grafana")
    assert str(deploy_dir / "k8s" / "base" / "gateway" / "nginx.conf") in sources("gateway")


def test_the_gateway_runs_its_image_with_the_docs_and_mounts_only_its_config(
    rendered: dict[str, Any], deploy_dir: Path
) -> None:
    gateway = rendered["services"]["gateway"]
    assert gateway["image"].startswith("c2r/gateway:")
    targets = [str(volume).split(":")[1] for volume in gateway["volumes"]]
    assert targets == ["/etc/c2r/nginx.conf"]


def test_the_compose_prometheus_config_loads_the_rules(
    deploy_dir: Path, run_tool: Run, tmp_path: Path
) -> None:
    shutil.copy(deploy_dir / "compose" / "prometheus.yml", tmp_path / "prometheus.yml")
    shutil.copytree(deploy_dir / "prometheus" / "rules", tmp_path / "rules")  # as mounted
    result = run_tool(
        "promtool", "check", "config", tmp_path / "prometheus.yml", package="prometheus"
    )
    rule_files = len(list((deploy_dir / "prometheus" / "rules").glob("*.yml")))
    assert f"SUCCESS: {rule_files} rule files found" in result.stdout
    jobs = {
        job["job_name"]
        for job in yaml.safe_load((tmp_path / "prometheus.yml").read_text())["scrape_configs"]
    }
    assert {*SERVICES, "gateway", "postgres"} <= jobs


def test_the_container_gateway_config_is_current_and_accepted_by_nginx(
    deploy_dir: Path, tmp_path: Path
) -> None:
    config_path = deploy_dir / "k8s" / "base" / "gateway" / "nginx.conf"
    expected = render_container_gateway(load_routes())
    assert config_path.read_text() == expected, "run `c2r container-gateway`"
    for name in SERVICES:
        assert f"server {name}:8080" in expected
    # nginx resolves upstream names when it starts: outside the topology, loopback stands in.
    local = re.sub(r"server ([a-z-]+):8080", "server 127.0.0.1:8080", expected)
    (tmp_path / "nginx.conf").write_text(local)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run(
        [nginx, "-t", "-p", tmp_path, "-c", tmp_path / "nginx.conf"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.postgresql_only
async def test_the_database_script_gives_each_service_a_database_only_its_role_reaches(
    deploy_dir: Path, tmp_path: Path
) -> None:
    roles = ("c2r_assessment", "c2r_intake", "c2r_schools", "c2r_exporter")
    cleanup = [f"DROP DATABASE IF EXISTS {role} WITH (FORCE)" for role in roles[:3]]
    cleanup += [f"DROP ROLE IF EXISTS {role}" for role in roles]
    await pg_admin(*cleanup)
    server = re.match(r".*://([^@/]*@)?([^:/]+):?(\d+)?", pg_server_url())
    assert server
    env = {**os.environ, "PGHOST": server.group(2), "PGPORT": server.group(3) or "5432"}
    env |= {
        f"C2R_{kind}_DB_PASSWORD": uuid.uuid4().hex
        for kind in ("ASSESSMENT", "INTAKE", "SCHOOLS", "EXPORTER")
    }
    try:
        subprocess.run(
            ["sh", deploy_dir / "compose" / "postgres-init" / "10-databases.sh"],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )

        def connects(role: str, database: str) -> bool:
            probe = ["psql", "-U", role, "-d", database, "-tAc", "SELECT current_user"]
            result = subprocess.run(probe, env=env, capture_output=True, text=True, check=False)
            return result.returncode == 0 and result.stdout.strip() == role

        assert connects("c2r_schools", "c2r_schools")
        assert connects("c2r_intake", "c2r_intake")
        assert not connects("c2r_schools", "c2r_intake")
        assert not connects("c2r_assessment", "c2r_schools")
    finally:
        await pg_admin(*cleanup)
