"""A real browser (headless Chromium) on a page of another origin calls the API through
each gateway: the preflight, the token, an exposed header and a refused call's problem
are all seen by the page; a page on an origin the gateway does not list is blocked.
"""

import dataclasses
import functools
import html
import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser.seed import seed
from topology import Topology, embedded_gateway, free_port, nginx_gateway

from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from c2r_deploy.openapi import gateway_openapi
from c2r_deploy.routes import load_routes

BROWSER = Path(__file__).resolve().parent / "browser"

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
    return {
        name: html.unescape(text)
        for name, text in re.findall(r'<pre id="(\w+)">([^<]*)</pre>', dom)
    }


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


# The page a front-end would be: the generated TypeScript client (clients/typescript,
# bundled as one ES module) lists countries, shows an assessment's scores and band, and
# shows the problem of a refused call and of an invalid one.
CLIENT_PAGE = """<!DOCTYPE html>
<html><body><pre id="countries">pending</pre><pre id="scores">pending</pre>
<pre id="refused">pending</pre><pre id="invalid">pending</pre><script type="module">
import { createC2rClient, ok, ProblemError } from "./c2r-client.js";
const query = new URLSearchParams(location.search);
const baseUrl = query.get("api");
const api = createC2rClient({ baseUrl, token: () => query.get("token") });
const show = (id, value) => { document.getElementById(id).textContent = value; };
const failure = (error) => error instanceof ProblemError
  ? "problem " + error.status + " " + error.problem.title
    + (error.problem.errors ? " " + error.problem.errors.map((e) => e.field).join(",") : "")
  : "failed " + error;
const step = async (id, run) => {
  try { show(id, await run()); } catch (error) { show(id, failure(error)); }
};
await step("countries", async () => {
  const page = ok(await api.GET("/v1/countries", { params: { query: { itu_region: "Africa" } } }));
  return page.items.length + " " + page.items.slice(0, 3).map((c) => c.iso3).join(",");
});
await step("scores", async () => {
  const scores = ok(await api.GET("/v1/assessments/{assessment_id}/scores",
    { params: { path: { assessment_id: query.get("assessment") } } }));
  return scores.country_iso3 + " overall=" + scores.overall + " band=" + scores.band + " "
    + scores.pillars.map((p) => p.code + ":" + p.score).join(",");
});
await step("refused", async () => {
  const anonymous = createC2rClient({ baseUrl });
  return JSON.stringify(ok(await anonymous.GET("/v1/countries")));
});
await step("invalid", async () => {
  return JSON.stringify(ok(await api.GET("/v1/countries", { params: { query: { limit: 0 } } })));
});
</script></body></html>
"""
CLIENT = Path(__file__).resolve().parents[2] / "clients" / "typescript"


@pytest.fixture(scope="module")
def client_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clients/typescript/src/index.ts bundled by the client's pinned esbuild."""
    esbuild = CLIENT / "node_modules" / ".bin" / "esbuild"
    assert esbuild.exists(), "the client's tools are required: `make test-client` installs them"
    bundle = tmp_path_factory.mktemp("client") / "c2r-client.js"
    subprocess.run(
        [esbuild, "src/index.ts", "--bundle", "--format=esm", f"--outfile={bundle}"],
        cwd=CLIENT,
        check=True,
        capture_output=True,
    )
    return bundle


@pytest.fixture(scope="module")
def scored_assessment(production: Topology) -> str:
    """An assessment of Nepal with values entered, through the gateway (on the default
    methodology, published first if no other test has)."""
    admin = production.headers("admin")
    latest = httpx.get(production.gateway + "/v1/methodologies/latest", headers=admin)
    if latest.status_code != 200:
        published = httpx.post(
            production.gateway + "/v1/methodologies",
            content=DEFAULT_METHODOLOGY.model_dump_json(),
            headers=admin | {"Content-Type": "application/json"},
        )
        assert published.status_code == 201, published.text
    headers = production.headers("assessments:write")
    created = httpx.post(
        production.gateway + "/v1/assessments",
        json={"country_iso3": "NPL", "period": "2026-H2"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assessment_id: str = created.json()["id"]
    values = {"internet_users_pct": 30, "pop_coverage_4g_pct": 90}
    entries = [{"code": c, "value": v, "year": 2025, "source": "e2e"} for c, v in values.items()]
    entered = httpx.post(
        f"{production.gateway}/v1/assessments/{assessment_id}/indicators",
        json={"values": entries},
        headers=headers,
    )
    assert entered.status_code == 200, entered.text
    return assessment_id


def test_a_page_uses_the_generated_client(
    gateway_allowing: str,
    page_origin: str,
    tmp_path: Path,
    client_bundle: Path,
    scored_assessment: str,
    production: Topology,
) -> None:
    (tmp_path / "client.html").write_text(CLIENT_PAGE)
    shutil.copyfile(client_bundle, tmp_path / "c2r-client.js")
    token = production.token("assessments:read")
    headers = {"Authorization": f"Bearer {token}"}
    african = httpx.get(
        production.gateway + "/v1/countries", params={"itu_region": "Africa"}, headers=headers
    ).json()["items"]
    scores = httpx.get(
        f"{production.gateway}/v1/assessments/{scored_assessment}/scores", headers=headers
    ).json()
    assert scores["overall"] is not None
    assert scores["band"] is not None

    query = f"api={gateway_allowing}&token={token}&assessment={scored_assessment}"
    shown = rendered(f"{page_origin}/client.html?{query}")

    listed = ",".join(country["iso3"] for country in african[:3])
    assert shown["countries"] == f"{len(african)} {listed}"
    pillars = ",".join(f"{p['code']}:{_js_number(p['score'])}" for p in scores["pillars"])
    assert shown["scores"] == (
        f"NPL overall={_js_number(scores['overall'])} band={scores['band']} {pillars}"
    )
    assert shown["refused"] == "problem 401 Unauthorized"
    assert shown["invalid"].startswith("problem 422 ")
    assert shown["invalid"].endswith(" query.limit")


def _js_number(value: float | None) -> str:
    """A number as JavaScript's String() writes it."""
    if value is None:
        return "null"
    return str(int(value)) if float(value).is_integer() else repr(value)


# The page that reads every read endpoint (tests/e2e/browser/reads.ts): what each
# operation's answer must show, after its status and the path it called. Every GET of the
# merged OpenAPI document must be here and on the page (test_the_page_reads_every_get).
READ_SHOWS: dict[str, str] = {
    "countries_list": "true",
    "countries_get": "Rwanda ldc=true beneficiary=true",
    "countries_list_beneficiaries": "ITU C2R beneficiary list, 2023",
    "methodologies_list": "true",
    "methodologies_get_latest": r"v\d+",
    "methodologies_get": r"v\d+ \d+",
    "assessments_list": "true",
    "assessments_get": "NPL 2026-H2 draft",
    "assessments_audit_trail": r"created(,\w+)*",
    "indicators_list_values": "internet_users_pct=30,pop_coverage_4g_pct=90",
    "indicators_history": "internet_users_pct=30",
    "scores_get": r"overall=\d+(\.\d+)? band=(limited|satisfactory|advanced|target_met)",
    "scores_get_gaps": "pop_coverage_4g_pct",
    "scores_preview_rescoring": "true true change=0 band_changed=false",
    "assessment_notifications_list_subscriptions": "true",
    "assessment_notifications_get_subscription": r"\S+assessment\.completed NPL active",
    "assessment_notifications_list_deliveries": "true",  # none completed: empty
    "reports_compare_countries": "rows=NPL not_assessed=MRT",
    "reports_regional_aggregates": "Africa,Americas,Arab States,Asia & Pacific,CIS,Europe",
    "reports_latest_scores": "true",
    "reports_export_assessment": "Nepal 2026-H2",
    "reports_country_scores": r"NPL \d+",
    "programmes_list": "true",
    "programmes_get": r"Rwanda methodology,assessment(,\w+)+",
    "partners_list": "true",
    "partners_get": "government JPN founding=true",
    "partners_list_contributions": "1500000.00 USD",
    "partners_contribution_totals": "1500000.00 USD",
    "calls_list": "true",
    "calls_list_open": "true",
    "calls_get": "Connect2Recover technical assistance for African Member States Africa",
    "calls_open_feed": "Europe/Geneva",  # the calls' default zone
    "reviews_get_form": "relevance:2,feasibility:1 required=2",
    "requests_list": "RWA:screening",
    "requests_get": "Ministry of ICT and Innovation screening",
    "requests_list_transitions": "submitted,screening",
    "reports_request": "total=1",
    "reports_request_csv": "dimension,key,label,count",
    "request_notifications_list_subscriptions": "true",
    "request_notifications_get_subscription": r"\S+request\.info_requested RWA active",
    "request_notifications_list_deliveries": "true",  # subscribed after the moves: empty
    "outbox_summary": r"failed=\d+",
    "outbox_list": r"items=\d+",
    "sla_list_overdue": "false",  # just screened: not overdue
    "sla_overdue_summary": "info_requested,resubmitted,screening,submitted,under_review",
    "sla_list_reminders": "true|false",
    "sla_list_warnings": "true",
    "sla_get_request": "first_response:met,resolution:running,submitted:met,screening:running",
    "reports_sla": "first_response:1/0/0,resolution:0/0/1,screening:0/0/1,submitted:1/0/0",
    "reviews_list_reviewers": "screening:true,technical:true",
    "reviews_get_board": "submitted=2 missing=0 yes=1 maybe=1",
    "reviews_my_queue": "true:true",
    "reviews_get": "screening revision=2 yes",
    "reviews_list_revisions": "1:2,2:3",
    "evidence_get": "RWA connectivity=available",
    "sessions_list": "true",
    "sessions_get": "2023-05-02 member_states=1",
    "schools_list": "true",
    "schools_geojson": "true",
    "schools_get": r"GS Kigeme RW-\w+",
    "schools_get_status": "moderate",  # the latest record, 4.2 Mbps, is below 20
    "schools_list_measurements": "items=7",  # an upload, a backlog of 5, the Kenyan one
    "schools_daily": "true",
    "measurements_list_failed": "true",
    "measurements_list_flags": "country_mismatch",
    "agents_list": "true",
    "agents_get": r"true \S+",
    "agents_list_deployment_keys": "true",
    "agents_get_deployment_key": "RWA hint=true",
    "connectivity_country_summary": "RWA reporting=true",
    "connectivity_country_daily": "true",
    "connectivity_region_summary": "Africa true",
    "connectivity_verify_rollups": "exact=true",
    "alerts_list": "fell_below_benchmark",
    "notifications_list_subscriptions": "true",
    "notifications_get_subscription": r"\S+school\.below_benchmark RWA active",
    "notifications_list_deliveries": "true",  # no round has emitted an event yet: empty
    "giga_meter_country_by_code": "Rwanda",
    "giga_meter_schools_by_government_id": "true",
    "giga_meter_flags_by_id": "pingService=true",
    "giga_meter_flags_by_device": "pingService=true",
    "giga_meter_existing_installation": "exists=true true",
    "giga_meter_device_status": "active=true",
    "giga_meter_protocol_config": "mlab",
    "giga_meter_registered_devices": "true",
    "giga_meter_flagged_schools": "KE/RW",
    "giga_meter_data_fixes": "success=true",
    "giga_meter_data_fix": "fixes=0",
    "giga_meter_own_ip_metadata": "c2r",
    "giga_meter_ip_metadata": "197.243.16.20 RW",  # the build key's country
    "giga_meter_list_measurements": "measurements=7",
    "giga_meter_list_measurements_of_school": "measurements=7",
    "giga_meter_pull_measurements_v2": "measurements=7",
    "giga_meter_list_failed": "true",
}
READS_PAGE = """<!DOCTYPE html>
<html><body><script type="module" src="./reads.js"></script></body></html>
"""


def get_operations() -> dict[str, str]:
    """operationId -> path of every GET operation of the merged OpenAPI document."""
    document = gateway_openapi(load_routes())
    return {
        item["get"]["operationId"]: path
        for path, item in document["paths"].items()
        if "get" in item
    }


@pytest.fixture(scope="module")
def reads_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/e2e/browser/reads.ts, checked by `tsc --strict` (the client's tsconfig takes
    the page in) and bundled with the client by its pinned esbuild."""
    tools = CLIENT / "node_modules" / ".bin"
    assert (tools / "esbuild").exists(), "the client's tools: `make test-client` installs them"
    checked = subprocess.run(
        [tools / "tsc", "--strict", "--noEmit", "-p", "."], cwd=CLIENT, capture_output=True
    )
    assert checked.returncode == 0, checked.stdout.decode()
    bundle = tmp_path_factory.mktemp("reads") / "reads.js"
    subprocess.run(
        [
            tools / "esbuild",
            BROWSER / "reads.ts",
            "--bundle",
            "--format=esm",
            f"--outfile={bundle}",
        ],
        cwd=CLIENT,
        check=True,
        capture_output=True,
    )
    return bundle


@pytest.fixture(scope="module")
def seeded(production: Topology, scored_assessment: str) -> dict[str, object]:
    return seed(production, scored_assessment)


def test_the_page_reads_every_get() -> None:
    """The page and its expectations name every GET operation of the merged document, and
    only those: a new read endpoint fails here until the page reads it."""
    on_page = set(re.findall(r'read\("(\w+)"', (BROWSER / "reads.ts").read_text()))
    operations = set(get_operations())
    assert operations - on_page == set(), "GET operations the page does not read"
    assert on_page - operations == set(), "the page reads operations the document lacks"
    assert set(READ_SHOWS) == operations


def test_a_page_reads_every_read_endpoint_with_the_client(
    gateway_allowing: str,
    page_origin: str,
    tmp_path: Path,
    reads_bundle: Path,
    seeded: dict[str, object],
    production: Topology,
) -> None:
    (tmp_path / "reads.html").write_text(READS_PAGE)
    shutil.copyfile(reads_bundle, tmp_path / "reads.js")
    page_seed = seeded | {"api": gateway_allowing, "token": production.token("admin")}
    (tmp_path / "seed.json").write_text(json.dumps(page_seed))

    shown = rendered(f"{page_origin}/reads.html")

    operations = get_operations()
    assert shown.pop("done") == str(len(operations)), shown
    assert set(shown) == set(operations)
    wrong = {}
    for operation_id, path in operations.items():
        status, called, show = shown[operation_id].split(" ", 2)
        template = re.sub(r"\{[^}]+\}", "[^/]+", path)
        if not (
            status.startswith("2")
            and re.fullmatch(template, called)
            and re.fullmatch(READ_SHOWS[operation_id], show)
        ):
            wrong[operation_id] = shown[operation_id]
    assert wrong == {}
