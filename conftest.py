# Shared fixtures of the service suites: database built by migrations, per-test rollback,
# an HTTP client on the ASGI app, and tokens.
pytest_plugins = ["c2r_common.testing"]
