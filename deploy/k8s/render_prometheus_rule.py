"""The project's Prometheus rules as a PrometheusRule of the prometheus-operator, for the
Kubernetes base: the same groups as deploy/prometheus/rules, so that both topologies
alert alike. `.venv/bin/python deploy/k8s/render_prometheus_rule.py` writes it after a
change of the rules (tests/deploy checks it has the same groups).
"""

from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[1]
RULES_DIR = DEPLOY / "prometheus" / "rules"
OUTPUT = DEPLOY / "k8s" / "base" / "prometheus-rule.yaml"


def rule_groups(rules_dir: Path = RULES_DIR) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in sorted(rules_dir.glob("*.yml")):
        groups += yaml.safe_load(path.read_text())["groups"]
    return groups


def render_prometheus_rule(rules_dir: Path = RULES_DIR) -> str:
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "c2r", "labels": {"app.kubernetes.io/part-of": "c2r"}},
        "spec": {"groups": rule_groups(rules_dir)},
    }
    header = "# Generated from deploy/prometheus/rules by deploy/k8s/render_prometheus_rule.py.\n"
    return header + str(yaml.safe_dump(resource, sort_keys=False, width=1000))


if __name__ == "__main__":
    OUTPUT.write_text(render_prometheus_rule())
    print(f"wrote {OUTPUT}")
