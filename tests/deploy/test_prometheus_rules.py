"""The Prometheus config, its recording rules and alerts, checked and unit-tested by promtool."""

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

Run = Callable[..., subprocess.CompletedProcess[str]]  # the run_tool fixture

SEVERITIES = {"critical", "warning"}


def alerting_rules(deploy_dir: Path) -> list[dict[str, Any]]:
    rules = []
    for path in sorted((deploy_dir / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [rule for rule in group["rules"] if "alert" in rule]
    return rules


def test_the_scrape_config_loads_the_rules_and_sends_to_alertmanager(
    deploy_dir: Path, run_tool: Run
) -> None:
    config_path = deploy_dir / "prometheus" / "prometheus.yml"
    result = run_tool("promtool", "check", "config", config_path, package="prometheus")
    rule_files = len(list((deploy_dir / "prometheus" / "rules").glob("*.yml")))
    assert f"SUCCESS: {rule_files} rule files found" in result.stdout
    config = yaml.safe_load(config_path.read_text())
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]


def test_the_rules_pass_their_unit_tests(deploy_dir: Path, run_tool: Run) -> None:
    tests = sorted((deploy_dir / "prometheus" / "tests").glob("*.yml"))
    assert len(tests) >= 2
    result = run_tool("promtool", "test", "rules", *tests, package="prometheus")
    assert result.stdout.count("SUCCESS") == len(tests)


def test_every_alert_is_unit_tested(deploy_dir: Path) -> None:
    tested = set()
    for path in (deploy_dir / "prometheus" / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            tested |= {
                check["alertname"]
                for check in case.get("alert_rule_test", [])
                if check.get("exp_alerts")  # a test that it fires, not only that it does not
            }
    assert {rule["alert"] for rule in alerting_rules(deploy_dir)} <= tested


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section(deploy_dir: Path) -> None:
    anchors = runbook_anchors(deploy_dir / "README.md")
    rules = alerting_rules(deploy_dir)
    assert len(rules) >= 13
    for rule in rules:
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "deploy/README.md", rule["alert"]
        assert anchor == rule["alert"].lower(), rule["alert"]
        assert anchor in anchors, rule["alert"]


def runbook_anchors(readme: Path) -> set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation dropped, spaces -> -."""
    headings = re.findall(r"^#+ (.+)$", readme.read_text(), flags=re.MULTILINE)
    return {
        re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings
    }
