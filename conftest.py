# Shared fixtures of the service suites: database built by migrations, per-test rollback,
# an HTTP client on the ASGI app, and tokens.
pytest_plugins = ["c2r_common.testing"]


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    """In CI every dependency (PostgreSQL, nginx, promtool) is present: a skip is a failure."""
    import os

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") == "true" and skipped:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; skips are failures in CI")
        session.exitstatus = 1
