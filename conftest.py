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


def pytest_configure(config):  # type: ignore[no-untyped-def]
    config.addinivalue_line(
        "markers",
        "postgresql_only: needs PostgreSQL itself (row locks, pg_terminate_backend, a cluster "
        "of the test's own); not collected on the SQLite pass, where its SQLite counterpart runs",
    )


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """On the SQLite pass the postgresql_only tests are deselected, not skipped (a skip fails
    CI): they have nothing to run against there."""
    from c2r_common.testing import selected_backend

    if selected_backend() != "sqlite":
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql_only")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql_only")]
