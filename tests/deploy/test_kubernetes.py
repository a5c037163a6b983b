"""The Kubernetes manifests: every overlay rendered by `kubectl kustomize`, its core objects
valid against the Kubernetes API's schemas (kubernetes-validate, strict), and what the
platform relies on checked object by object."""

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from c2r_deploy.containers import DOCS_DIR

Run = Callable[..., subprocess.CompletedProcess[str]]  # the run_tool fixture
KUBERNETES_VERSION = "1.32.0"
OVERLAYS = ("dev", "production")
SERVICES = ("assessment-api", "request-intake", "school-monitor")
Objects = list[dict[str, Any]]


def render(deploy_dir: Path, overlay: str) -> Objects:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is required (it comes with this kind of machine)"
    result = subprocess.run(
        [kubectl, "kustomize", deploy_dir / "k8s" / "overlays" / overlay],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest, deploy_dir: Path) -> tuple[str, Objects]:
    return request.param, render(deploy_dir, request.param)


def of_kind(objects: Objects, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_every_core_object_is_valid_for_the_kubernetes_api(rendered: tuple[str, Objects]) -> None:
    _, objects = rendered
    validated = 0
    for item in objects:
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
            validated += 1
        except kubernetes_validate.SchemaNotFoundError:
            assert item["apiVersion"].split("/")[0] in {
                "postgresql.cnpg.io",
                "monitoring.coreos.com",
            }, item["kind"]
    assert validated >= 22


def test_the_overlay_has_everything_the_platform_needs(rendered: tuple[str, Objects]) -> None:
    overlay, objects = rendered
    assert set(of_kind(objects, "Deployment")) == {*SERVICES, "gateway"}
    assert set(of_kind(objects, "Job")) == {f"{s}-migrate" for s in SERVICES}
    assert set(of_kind(objects, "Service")) == {*SERVICES, "gateway"}
    assert set(of_kind(objects, "PodDisruptionBudget")) == {*SERVICES, "gateway"}
    assert set(of_kind(objects, "PodMonitor")) == {*SERVICES, "gateway"}
    assert set(of_kind(objects, "Cluster")) == {f"{s}-db" for s in SERVICES}
    assert set(of_kind(objects, "HorizontalPodAutoscaler")) == {"school-monitor"}
    assert not of_kind(objects, "Secret"), "secrets are referenced, never embedded"
    namespaces = {o["metadata"].get("namespace") for o in objects}
    assert namespaces == {"c2r-dev" if overlay == "dev" else "c2r"}


def test_the_services_are_probed_bounded_and_unprivileged(rendered: tuple[str, Objects]) -> None:
    _, objects = rendered
    workloads = {**of_kind(objects, "Deployment"), **of_kind(objects, "Job")}
    for name, workload in workloads.items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), name
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), name
    for service in SERVICES:
        container = workloads[service]["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert workloads[f"{service}-migrate"]["spec"]["template"]["spec"]["containers"][0][
            "args"
        ] == ["migrate"]


def test_credentials_come_from_secrets(rendered: tuple[str, Objects]) -> None:
    _, objects = rendered
    for workload in [*of_kind(objects, "Deployment").values(), *of_kind(objects, "Job").values()]:
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for variable in container.get("env", []):
                if re.search(r"PASSWORD|SECRET|USER$", variable["name"]):
                    assert "secretKeyRef" in variable["valueFrom"], variable["name"]
                if re.search(r"_DATABASE_URL$|_TOKEN$", variable["name"]):
                    assert "secretKeyRef" in variable["valueFrom"], variable["name"]


def test_the_gateway_routes_to_the_services_by_name(
    rendered: tuple[str, Objects], deploy_dir: Path
) -> None:
    _, objects = rendered
    (config_map,) = [
        c for name, c in of_kind(objects, "ConfigMap").items() if name.startswith("gateway-nginx-")
    ]
    assert config_map["metadata"]["name"].startswith("gateway-nginx-")  # hashed: rolls out
    config = config_map["data"]["nginx.conf"]
    assert config == (deploy_dir / "k8s" / "base" / "gateway" / "nginx.conf").read_text()
    # Behind the ingress: the rate limits key on the client's forwarded address.
    assert "real_ip_header X-Forwarded-For;" in config
    assert "real_ip_recursive on;" in config
    assert re.search(r"set_real_ip_from [0-9./]+;", config)
    volumes = of_kind(objects, "Deployment")["gateway"]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "config", "configMap": {"name": config_map["metadata"]["name"]}} in volumes
    services = of_kind(objects, "Service")
    for host, port in re.findall(r"server ([a-z-]+):(\d+)", config):
        assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}


def test_only_the_gateway_reaches_the_services_and_only_a_service_its_database(
    rendered: tuple[str, Objects],
) -> None:
    _, objects = rendered
    policies = of_kind(objects, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress"],
    }
    sources = policies["services-from-gateway-and-prometheus"]["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}} in sources
    for service in SERVICES:
        policy = policies[f"{service}-db-from-{service}"]["spec"]
        assert policy["podSelector"]["matchLabels"] == {"cnpg.io/cluster": f"{service}-db"}
        apps = {
            peer["podSelector"]["matchLabels"].get("app.kubernetes.io/name")
            for rule in policy["ingress"]
            for peer in rule["from"]
            if "podSelector" in peer
        }
        assert apps == {service, None}  # the service, and the cluster's own instances


def test_the_prometheus_rule_has_the_project_s_rules_and_passes_promtool(
    rendered: tuple[str, Objects], deploy_dir: Path, run_tool: Run, tmp_path: Path
) -> None:
    _, objects = rendered
    (rule,) = of_kind(objects, "PrometheusRule").values()
    groups = []
    for path in sorted((deploy_dir / "prometheus" / "rules").glob("*.yml")):
        groups += yaml.safe_load(path.read_text())["groups"]
    assert rule["spec"]["groups"] == groups, "run deploy/k8s/render_prometheus_rule.py"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    run_tool("promtool", "check", "rules", tmp_path / "rules.yml", package="prometheus")
    for monitor in of_kind(objects, "PodMonitor").values():
        assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"  # job = service name


def test_production_runs_three_of_each_from_the_registry(deploy_dir: Path) -> None:
    objects = render(deploy_dir, "production")
    deployments = of_kind(objects, "Deployment")
    for service in SERVICES:
        spec = deployments[service]["spec"]
        assert spec["replicas"] == 3
        image = spec["template"]["spec"]["containers"][0]["image"]
        assert re.fullmatch(rf"[a-z0-9.-]+/c2r/{service}:\d+\.\d+\.\d+", image), image
        assert spec["template"]["spec"]["topologySpreadConstraints"]
    assert all(c["spec"]["instances"] == 3 for c in of_kind(objects, "Cluster").values())
    assert of_kind(objects, "HorizontalPodAutoscaler")["school-monitor"]["spec"]["minReplicas"] == 3


def test_the_gateway_runs_its_image_with_the_docs_and_mounts_nothing_over_them(
    rendered: tuple[str, Objects],
) -> None:
    overlay, objects = rendered
    pod = of_kind(objects, "Deployment")["gateway"]["spec"]["template"]["spec"]
    nginx = next(c for c in pod["containers"] if c["name"] == "nginx")
    image = "c2r/gateway:latest" if overlay == "dev" else r"[a-z0-9.-]+/c2r/gateway:\d+\.\d+\.\d+"
    assert re.fullmatch(image, nginx["image"]), nginx["image"]
    mounts = [m["mountPath"] for m in nginx["volumeMounts"]]
    assert [m for m in mounts if DOCS_DIR.startswith(m) or m.startswith(DOCS_DIR)] == []
    assert "/etc/c2r" in mounts  # the rendered config


def test_dev_runs_one_of_each(deploy_dir: Path) -> None:
    objects = render(deploy_dir, "dev")
    assert {d["spec"]["replicas"] for d in of_kind(objects, "Deployment").values()} == {1}
    assert {c["spec"]["instances"] for c in of_kind(objects, "Cluster").values()} == {1}


def environment_of(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    return {v["name"]: v for container in containers for v in container.get("env", [])}


def test_production_verifies_tokens_by_jwks_and_holds_no_jwt_secret(deploy_dir: Path) -> None:
    objects = render(deploy_dir, "production")
    (auth,) = [
        c for name, c in of_kind(objects, "ConfigMap").items() if name.startswith("c2r-auth-")
    ]
    assert auth["data"]["jwks_url"].startswith("https://")
    assert "HS256" not in auth["data"]["algorithms"]
    workloads = {**of_kind(objects, "Deployment"), **of_kind(objects, "Job")}
    for name, workload in workloads.items():
        environment = environment_of(workload)
        assert not [v for v in environment if v.endswith("_JWT_SECRET")], name
        if workload["metadata"]["labels"].get("app.kubernetes.io/name") in SERVICES:
            (jwks,) = [v for k, v in environment.items() if k.endswith("_JWT_JWKS_URL")]
            reference = jwks["valueFrom"]["configMapKeyRef"]
            assert (reference["name"], reference["key"]) == (auth["metadata"]["name"], "jwks_url")


CALLERS = {"assessment-api": "C2R_ASSESSMENT", "request-intake": "C2R_INTAKE"}


def test_production_callers_get_their_peer_tokens_from_the_provider(deploy_dir: Path) -> None:
    objects = render(deploy_dir, "production")
    (auth,) = [
        c for name, c in of_kind(objects, "ConfigMap").items() if name.startswith("c2r-auth-")
    ]
    assert auth["data"]["token_url"].startswith("https://")
    for service, prefix in CALLERS.items():
        for workload in (
            of_kind(objects, "Deployment")[service],
            of_kind(objects, "Job")[f"{service}-migrate"],
        ):
            environment = environment_of(workload)
            assert not [k for k in environment if k.endswith("_TOKEN")], "no static token"
            url = environment[f"{prefix}_OAUTH_TOKEN_URL"]["valueFrom"]["configMapKeyRef"]
            assert (url["name"], url["key"]) == (auth["metadata"]["name"], "token_url")
            for variable, key in (("CLIENT_ID", "client_id"), ("CLIENT_SECRET", "client_secret")):
                secret = environment[f"{prefix}_OAUTH_{variable}"]["valueFrom"]["secretKeyRef"]
                assert (secret["name"], secret["key"]) == (f"{service}-oauth-client", key)


def test_dev_alone_verifies_tokens_with_a_shared_hs256_secret(deploy_dir: Path) -> None:
    objects = render(deploy_dir, "dev")
    (auth,) = [
        c for name, c in of_kind(objects, "ConfigMap").items() if name.startswith("c2r-auth-")
    ]
    assert "jwks_url" not in auth["data"]
    assert "token_url" not in auth["data"]  # peer tokens minted with the shared secret
    assert auth["data"]["algorithms"] == '["HS256"]'
    for service in SERVICES:
        for workload in (
            of_kind(objects, "Deployment")[service],
            of_kind(objects, "Job")[f"{service}-migrate"],
        ):
            (secret,) = [
                v for k, v in environment_of(workload).items() if k.endswith("_JWT_SECRET")
            ]
            assert secret["valueFrom"]["secretKeyRef"] == {"name": "c2r-jwt", "key": "secret"}
