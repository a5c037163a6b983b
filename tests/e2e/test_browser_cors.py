"""A real browser (headless Chromium) on a page of another origin calls the API through
each gateway: the preflight, the token, an exposed header and a refused call's problem
are all seen by the page; a page on an origin the gateway does not list is blocked.
"""

import dataclasses
import functools
import http.server
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from topology import Topology, embedded_gateway, free_port, nginx_gateway

from c2r_deploy.routes import load_routes

PAGE = """<!DOCTYPE html>
<html><body><pre id="read">pending</pre><pre id="refused">pending</pre><script>
const query = new URLSearchParams(location.search);
const api = query.get("api");
const show = (id, value) => { document.getElementById(id).textContent = value; };
(async () => {
  try {
    const answer = await fetch(api + "/v1/countries/RWA", {
      headers: {"Authorization": "Bearer " + query.get("token"), "X-Request-ID": "browser-1"},
    });
    const country = await answer.json();
    show("read", "read " + answer.status + " " + country.name + " id="
      + answer.headers.get("X-Request-ID"));
  } catch (error) {
    show("read", "blocked " + error.name);
  }
  try {
    const json = {"Content-Type": "application/json"};  // not a simple request: preflight
    const refused = await fetch(api + "/v1/countries", {headers: json});
    const problem = await refused.json();
    show("refused", "refused " + refused.status + " " + problem.title);
  } catch (error) {
    show("refused", "blocked " + error.name);
  }
})();
</script></body></html>
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is required (Debian package chromium); `make system-deps` installs it"
    return found


@pytest.fixture
def page_origin(tmp_path: Path) -> Iterator[str]:
    """A static page served from an origin of its own."""
    (tmp_path / "index.html").write_text(PAGE)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["nginx", "embedded"])
def gateway_allowing(
    request: pytest.FixtureRequest, production: Topology, page_origin: str, tmp_path: Path
) -> Iterator[str]:
    """A gateway, before the real services, whose production front-end is the page."""
    table = load_routes()
    assert table.cors is not None
    cors = dataclasses.replace(table.cors, production_origins=(page_origin,))
    routes = dataclasses.replace(table, cors=cors)
    upstreams = {name: url.removeprefix("http://") for name, url in production.services.items()}
    if request.param == "nginx":
        with nginx_gateway(tmp_path, routes, upstreams) as base_url:
            yield base_url
    else:
        with embedded_gateway(routes, upstreams) as base_url:
            yield base_url


def rendered(page_url: str) -> dict[str, str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--virtual-time-budget=15000",
        "--dump-dom",
        page_url,
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    return dict(re.findall(r'<pre id="(\w+)">([^<]*)</pre>', dom))


def test_a_page_on_an_allowed_origin_uses_the_api(
    gateway_allowing: str, page_origin: str, production: Topology
) -> None:
    token = production.token("assessments:read")
    shown = rendered(f"{page_origin}/index.html?api={gateway_allowing}&token={token}")
    assert shown["read"] == "read 200 Rwanda id=browser-1"
    assert shown["refused"] == "refused 401 Unauthorized"


def test_a_page_on_another_origin_is_blocked(production: Topology, page_origin: str) -> None:
    token = production.token("assessments:read")
    shown = rendered(f"{page_origin}/index.html?api={production.gateway}&token={token}")
    assert shown == {"read": "blocked TypeError", "refused": "blocked TypeError"}
