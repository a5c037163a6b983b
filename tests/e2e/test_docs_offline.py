"""/docs and /redoc render in a real browser (headless Chromium) that can reach nothing but
the gateway, through nginx and through the embedded gateway; each service's own /docs
names nothing outside its origin either.
"""

import re
import subprocess
from urllib.parse import urlsplit

import httpx
import pytest
from test_browser_cors import chromium
from topology import Topology

# Every host name but the gateway's address resolves to nothing: the browser is offline.
_OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def offline_dom(url: str) -> str:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        _OFFLINE,
        "--virtual-time-budget=20000",
        "--dump-dom",
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True).stdout


def foreign_assets(page: str, origin: str) -> list[str]:
    """The page's scripts, styles and icons that are not on `origin`."""
    urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', page)
    return [
        u
        for u in urls
        if urlsplit(u).netloc and f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" != origin
    ]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_name_nothing_outside_the_gateway(gateway: Topology, page: str) -> None:
    answer = httpx.get(gateway.gateway + page)
    assert answer.status_code == 200
    assert "/openapi.json" in answer.text
    assert foreign_assets(answer.text, gateway.gateway) == []
    for asset in re.findall(r'(?:src|href)="(/docs/static/[^"]+)"', answer.text):
        assert httpx.get(gateway.gateway + asset).status_code == 200, asset


def test_swagger_ui_renders_the_operations_offline(gateway: Topology) -> None:
    dom = offline_dom(gateway.gateway + "/docs")
    paths = set(re.findall(r'data-path="([^"]+)"', dom))
    assert "/v1/countries" in paths
    assert len(paths) > 40  # the merged document's paths, not one service's


def test_redoc_renders_the_operations_offline(gateway: Topology) -> None:
    dom = offline_dom(gateway.gateway + "/redoc")
    assert "/v1/countries" in dom
    assert "operation/" in dom  # ReDoc's links to each operation


def test_each_service_serves_its_own_docs_from_its_origin(gateway: Topology) -> None:
    for base in gateway.services.values():
        for page in ("/docs", "/redoc"):
            answer = httpx.get(base + page)
            assert answer.status_code == 200
            assert foreign_assets(answer.text, base) == []
        assert httpx.get(base + "/docs/static/swagger-ui-bundle.js").status_code == 200
