from fastapi import FastAPI


def test_every_endpoint_is_documented_with_a_summary_and_its_errors(app: FastAPI) -> None:
    operations = [
        (path, method, operation)
        for path, methods in app.openapi()["paths"].items()
        if path.startswith("/v1/")
        for method, operation in methods.items()
    ]
    assert len(operations) >= 40
    for path, method, operation in operations:
        assert operation.get("summary"), f"{method} {path} has no summary"
        errors = {code for code in operation["responses"] if code.startswith(("4", "5"))}
        assert {"401", "403"} <= errors, f"{method} {path} does not document auth errors"
        for code in errors - {"422"}:
            content = operation["responses"][code].get("content", {})
            assert "application/problem+json" in content, f"{method} {path} {code}"
