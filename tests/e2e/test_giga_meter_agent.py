"""The Giga Meter agent's own sequence, through both gateways on both databases.

The calls are those its services make, in the order its pages make them, with the bodies
they build and the one static key compiled into the build (an existing build's key,
registered as a deployment key): country check, school search, device registration and
its flagged school, the start-up checks of v1.0.10 (feature flags by installation id, the
data fix, the registered school) and of v2 (device status and flags by Giga id, the
installation by hardware id, the kill switch, the protocol config), a speed test upload,
ping records, and the offline backlog.

The sequence runs twice, as an agent re-sends after a lost answer or a reinstall, and
what was stored is read back through the API: everything once.

Topologies: nginx before the services on PostgreSQL and the embedded default on SQLite
(the suite's own), and school-monitor alone on SQLite behind nginx and on PostgreSQL
behind the embedded gateway (started here), so that each gateway meets each database.
"""

import asyncio
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from topology import BIN, Topology, free_port, service_env, start_nginx, stop, wait_for

from c2r_common.testing import pg_admin, pg_database_url
from c2r_deploy.routes import load_routes
from school_monitor.gigameter.examples import agent_measurement, agent_ping_record
from school_monitor.seed import SCHOOLS as SEED_SCHOOLS

SCHOOL_MONITOR = "school-monitor"
API = "/api/v1/"
BACKLOG_SIZE = 5  # sync.service.ts posts the backlog five records at a time
PINGS = 8

GATEWAY_SCRIPT = """
import sys, uvicorn
from c2r_deploy.gateway import create_gateway_app
from c2r_deploy.gateway_edge import ProblemHttpToolsProtocol
from c2r_deploy.routes import load_routes

port, upstreams = int(sys.argv[1]), dict(arg.split("=", 1) for arg in sys.argv[2:])
app = create_gateway_app(load_routes(), upstreams, lambda: {"openapi": "3.1.0", "paths": {}})
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", http=ProblemHttpToolsProtocol)
"""


def _start_school_monitor_alone(
    root: Path, database_url: str, secret: str
) -> tuple[str, subprocess.Popen[bytes]]:
    """school-monitor on its own database; its peers are a port nothing listens on."""
    routes = load_routes()
    service = next(s for s in routes.services if s.name == SCHOOL_MONITOR)
    nowhere = f"http://127.0.0.1:{free_port()}"
    peers = {s.name: nowhere for s in routes.services if s is not service}
    env = service_env(service.env_prefix, database_url, secret, peers)
    port = free_port()
    with (root / f"{service.name}.log").open("wb") as log:
        subprocess.run(
            [BIN / service.command, "migrate"], env=env, check=True, stdout=log, stderr=log
        )
        command = [BIN / service.command, "serve", "--port", str(port)]
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/readyz", process)
    return url, process


def _upstreams(school_monitor: str) -> dict[str, str]:
    """school-monitor's address; the other services' is one nothing listens on."""
    nowhere = f"127.0.0.1:{free_port()}"
    return {
        s.name: school_monitor if s.name == SCHOOL_MONITOR else nowhere
        for s in load_routes().services
    }


GatewayStarter = Callable[[Path, int, dict[str, str]], subprocess.Popen[bytes]]


def _nginx(root: Path, port: int, upstreams: dict[str, str]) -> subprocess.Popen[bytes]:
    return start_nginx(root, load_routes(), port, upstreams)


def _embedded_gateway(root: Path, port: int, upstreams: dict[str, str]) -> subprocess.Popen[bytes]:
    """The gateway `make run` starts (c2r_deploy.gateway), on its own."""
    command = [sys.executable, "-c", GATEWAY_SCRIPT, str(port)]
    command += [f"{name}=http://{address}" for name, address in upstreams.items()]
    with (root / "gateway.log").open("wb") as log:
        gateway = subprocess.Popen(command, stdout=log, stderr=log)
    wait_for(f"http://127.0.0.1:{port}/healthz", gateway)
    return gateway


@contextmanager
def school_monitor_behind(
    start_gateway: GatewayStarter, root: Path, database_url: str
) -> Iterator[Topology]:
    secret = secrets.token_urlsafe(48)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        service_url, process = _start_school_monitor_alone(root, database_url, secret)
        processes.append(process)
        gateway_port = free_port()
        upstreams = _upstreams(service_url.removeprefix("http://"))
        processes.append(start_gateway(root, gateway_port, upstreams))
        yield Topology(
            f"http://127.0.0.1:{gateway_port}",
            {SCHOOL_MONITOR: service_url},
            load_routes(),
            secret,
            root,
            processes,
            database_urls={SCHOOL_MONITOR: database_url},
        )
    finally:
        stop(processes)


@pytest.fixture(scope="session")
def nginx_on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("giga-nginx-sqlite")
    with school_monitor_behind(_nginx, root, f"sqlite+aiosqlite:///{root}/school-monitor.db") as t:
        yield t


@pytest.fixture(scope="session")
def embedded_gateway_on_postgresql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("giga-embedded-postgresql")
    database = f"c2r_e2e_giga_agent_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{database}"'))
    try:
        with school_monitor_behind(_embedded_gateway, root, pg_database_url(database)) as t:
            yield t
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


TOPOLOGIES = {
    "nginx-postgresql": "production",
    "embedded-sqlite": "embedded",
    "nginx-sqlite": "nginx_on_sqlite",
    "embedded-postgresql": "embedded_gateway_on_postgresql",
}


@pytest.fixture(params=list(TOPOLOGIES))
def topology(request: pytest.FixtureRequest) -> Topology:
    found: Topology = request.getfixturevalue(TOPOLOGIES[request.param])
    return found


@dataclass(frozen=True)
class Device:
    """One installation of the agent and what it measured: the same on every run."""

    installation_id: str  # Device.getId(), sent as mac_address
    hardware_id: str  # the machine's, v2's device_hardware_id
    measured_at: datetime
    upload_uuid: str
    backlog_uuids: list[str]
    ping_uuids: list[str]


def new_device() -> Device:
    return Device(
        installation_id=str(uuid.uuid4()),
        hardware_id=f"4C4C4544-{uuid.uuid4().hex[:4].upper()}-8050-B4C0-C4C04F4E3332",
        measured_at=datetime.now(UTC) - timedelta(minutes=3),
        upload_uuid=str(uuid.uuid4()),
        backlog_uuids=[str(uuid.uuid4()) for _ in range(BACKLOG_SIZE)],
        ping_uuids=[str(uuid.uuid4()) for _ in range(PINGS)],
    )


# The agent is an Electron app whose page electron-serve serves under this scheme: its
# calls are cross-origin, and with the bearer header each is preflighted by Chromium.
AGENT_ORIGIN = "capacitor-electron://-"


class Agent:
    """The agent's HTTP calls as its Chromium makes them: `environment.restAPI`, its bearer
    token (token.interceptor.ts), the page's Origin and a CORS preflight before each call;
    an answer without the origin allowed would not reach the app's code."""

    def __init__(self, gateway: str, key: str) -> None:
        self.http = httpx.Client(base_url=gateway + API, timeout=30)
        self.headers = {
            "Authorization": f"Bearer {key}",
            "Content-type": "application/json",
            "Origin": AGENT_ORIGIN,
        }

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: str) -> Any:
        return self._call("GET", path, (200,), params=params)

    def post(self, path: str, body: Any, *statuses: int) -> Any:
        return self._call("POST", path, statuses, json=body)

    def _call(self, method: str, path: str, statuses: tuple[int, ...], **send: Any) -> Any:
        self._preflight(method, path)
        response = self.http.request(method, path, headers=self.headers, **send)
        assert response.status_code in statuses, (path, response.text)
        assert response.headers.get("access-control-allow-origin") == AGENT_ORIGIN, path
        return response.json()

    def _preflight(self, method: str, path: str) -> None:
        asked = {
            "Origin": AGENT_ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        }
        response = self.http.options(path.split("?")[0], headers=asked)
        assert response.status_code in (200, 204), (path, response.text)
        assert response.headers.get("access-control-allow-origin") == AGENT_ORIGIN, path
        allowed = response.headers.get("access-control-allow-methods", "").upper()
        assert method in allowed, (path, allowed)


def enrol(agent: Agent, school: dict[str, Any], device: Device) -> str:
    """searchcountry -> searchschool -> confirmschool: the device's user_id."""
    [country] = agent.get("dailycheckapp_countries/RW")["data"]
    assert country["code"] == "RW"
    found = agent.get(f"schools/country_code_school_id/RW/{school['government_id']}")["data"]
    [chosen] = [s for s in found if s["giga_id_school"] == school["giga_id"]]
    assert (chosen["school_id"], chosen["name"]) == (school["government_id"], school["name"])
    assert chosen["admin_1_name"] == school["admin1"]
    registration = {
        "giga_id_school": chosen["giga_id_school"],
        "mac_address": device.installation_id,
        "os": "windows",
        "app_version": "2.0.2",
        "created": "2026-12-0210:15:00+02:00",
        "ip_address": "197.243.16.20",
        "country_code": "RW",
        "device_hardware_id": device.hardware_id,
        "windows_username": None,
        "installed_path": None,
        "wifi_connections": None,
        "geolocation": None,
    }
    user_id = str(agent.post("dailycheckapp_schools", registration, 200, 201)["data"]["user_id"])
    # The country of the device's network (a Kenyan satellite link) is not the one chosen.
    flagged = {
        "detected_country": "KE",
        "selected_country": "RW",
        "school_id": chosen["school_id"],
        "created": registration["created"],
        "giga_id_school": chosen["giga_id_school"],
    }
    assert agent.post("flagged_dailycheckapp_schools", flagged, 201)["data"]["id"]
    return user_id


def start_up(agent: Agent, school: dict[str, Any], device: Device, user_id: str) -> None:
    """home.page.ts of v1.0.10, then of v2: nothing here may make the app forget its school."""
    giga_id = school["giga_id"]
    flags = agent.get("dailycheckapp_schools/features_flags", mac_address=device.installation_id)
    assert flags["data"]["pingService"] is True
    assert agent.get(f"dailycheckapp_data_fix/{giga_id}")["data"] == []
    registered = agent.get(f"dailycheckapp_schools/{giga_id}")["data"]
    assert user_id in [d["user_id"] for d in registered]
    status = agent.get(f"dailycheckapp_schools/checkDeviceStatus/{device.hardware_id}/{giga_id}")
    assert (status["data"]["exists"], status["data"]["is_active"]) == (True, True)
    assert agent.get(f"schools/features_flags/{giga_id}")["data"]["pingService"] is True
    existing = agent.get(f"dailycheckapp_schools/checkExistingInstallation/{device.hardware_id}")
    assert (existing["data"]["exists"], existing["data"]["user_id"]) == (True, user_id)
    # kill-switch.service.ts, every minute: anything but isActive true wipes the app.
    asked = {"device_hardware_id": device.hardware_id, "external_id": school["government_id"]}
    alive = agent.post("dailycheckapp_schools/check-device-school-status", asked, 201)
    assert alive["data"]["isActive"] is True
    config = agent.get("protocol-config/resolve", gigaIdSchool=giga_id, countryCode="RW")
    assert config["data"]["measurementProviders"] == ["mlab"]


def upload(agent: Agent, school: dict[str, Any], device: Device, user_id: str) -> None:
    """upload.service.ts: BrowserID is the user_id the registration answered."""
    measurement = agent_measurement(
        school["giga_id"],
        school_id=school["government_id"],
        measured_at=device.measured_at,
        test_id=device.upload_uuid,
    ) | {"BrowserID": user_id}
    assert agent.post("measurements", measurement, 200, 201)["success"] is True


def sync(agent: Agent, school: dict[str, Any], device: Device, user_id: str) -> None:
    """sync.service.ts: ping records, then the offline backlog, five at a time."""
    giga_id = school["giga_id"]
    records = [
        agent_ping_record(giga_id, user_id, device.measured_at - timedelta(minutes=15 * n))
        | {"app_local_uuid": ping_uuid}
        for n, ping_uuid in enumerate(device.ping_uuids)
    ]
    records[-1] |= {
        "isConnected": False,
        "latency": None,
        "errorMessage": "All target hosts failed",
    }
    for first in range(0, len(records), 5):
        batch = records[first : first + 5]
        assert agent.post(f"connectivity/{giga_id}", {"records": batch}, 201) == batch
    backlog = [
        agent_measurement(
            giga_id,
            school_id=school["government_id"],
            measured_at=device.measured_at - timedelta(hours=n + 1),
            test_id=backlog_uuid,
            app_version="2.0.2",
        )
        | {"BrowserID": user_id, "id": n + 1, "status": "pending", "createdAt": 1764633600000}
        for n, backlog_uuid in enumerate(device.backlog_uuids)
    ]
    assert agent.post("measurements/multiple", backlog, 201)["success"] is True


def replay(agent: Agent, school: dict[str, Any], device: Device) -> str:
    user_id = enrol(agent, school, device)
    start_up(agent, school, device, user_id)
    upload(agent, school, device, user_id)
    sync(agent, school, device, user_id)
    return user_id


def new_school(topology: Topology, admin: dict[str, str]) -> dict[str, Any]:
    body = {
        "giga_id": str(uuid.uuid4()),
        "government_id": f"RW-{uuid.uuid4().hex[:6].upper()}",
        "name": "GS Kigeme",
        "country_iso3": "RWA",
        "admin1": "Southern Province",
        "admin2": "Nyamagabe",
    }
    response = httpx.post(topology.gateway + "/v1/schools", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


def build_key(topology: Topology, admin: dict[str, str]) -> str:
    """The key an existing build carries, registered for Rwanda."""
    key = "giga-meter-build-" + secrets.token_urlsafe(24)
    body = {"name": "Giga Meter 2.0.2 build", "countries": ["RWA"], "key": key}
    response = httpx.post(topology.gateway + "/v1/agents/deployment-keys", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return key


def stored(topology: Topology, admin: dict[str, str], school: dict[str, Any]) -> dict[str, Any]:
    """What the API says was stored for the school."""

    def get(path: str, **params: Any) -> Any:
        response = httpx.get(topology.gateway + path, params=params, headers=admin, timeout=30)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    measurements = get(f"/v1/schools/{school['id']}/measurements", limit=100)["items"]
    daily = get(f"/v1/schools/{school['id']}/daily")
    flagged = get(API + "flagged_dailycheckapp_schools", size=100)["data"]
    return {
        "agents": [a["id"] for a in get("/v1/agents", school_id=school["id"])["items"]],
        "measurements": sorted(m["uuid"] for m in measurements),
        "pings": sum(day["ping_count"] for day in daily),
        "flags": [f["id"] for f in flagged if f["giga_id_school"] == school["giga_id"]],
    }


def test_the_agents_sequence_stores_everything_once(topology: Topology) -> None:
    admin = {"Authorization": f"Bearer {topology.token('admin')}"}
    school = new_school(topology, admin)
    device = new_device()
    agent = Agent(topology.gateway, build_key(topology, admin))
    try:
        user_id = replay(agent, school, device)
        first = stored(topology, admin, school)
        assert replay(agent, school, device) == user_id
        assert stored(topology, admin, school) == first
    finally:
        agent.close()
    assert first["agents"] == [user_id]
    assert first["measurements"] == sorted([device.upload_uuid, *device.backlog_uuids])
    assert first["pings"] == PINGS
    assert len(first["flags"]) == 1


def test_the_build_key_of_another_country_finds_nothing(topology: Topology) -> None:
    admin = {"Authorization": f"Bearer {topology.token('admin')}"}
    school = new_school(topology, admin)
    key = "giga-meter-build-" + secrets.token_urlsafe(24)
    body = {"name": "Mauritania build", "countries": ["MRT"], "key": key}
    created = httpx.post(topology.gateway + "/v1/agents/deployment-keys", json=body, headers=admin)
    assert created.status_code == 201, created.text
    agent = Agent(topology.gateway, key)
    try:
        assert agent.get("dailycheckapp_countries/RW")["data"] == []
        path = f"schools/country_code_school_id/RW/{school['government_id']}"
        assert agent.get(path)["data"] == []
        assert agent.get(f"dailycheckapp_schools/{school['giga_id']}")["data"] == []
    finally:
        agent.close()


def test_make_run_shows_the_pilot_schools_week_to_an_agent_and_a_reader(embedded: Topology) -> None:
    """The embedded default's seed: the pilot schools are found by the agent's school
    search, each with its registered device, and the country's figures have data."""
    admin = {"Authorization": f"Bearer {embedded.token('admin')}"}
    agent = Agent(embedded.gateway, build_key(embedded, admin))
    try:
        for school in SEED_SCHOOLS:
            found = agent.get(f"schools/country_code_school_id/RW/{school.government_id}")["data"]
            assert [s["giga_id_school"] for s in found] == [school.giga_id]
            assert agent.get(f"dailycheckapp_schools/{school.giga_id}")["data"]
    finally:
        agent.close()
    summary = httpx.get(embedded.gateway + "/v1/connectivity/countries/RWA", headers=admin).json()
    assert summary["schools_by_status"]["unknown"] < summary["schools_total"]
    assert summary["download_mbps_median"] is not None
    alerts = httpx.get(embedded.gateway + "/v1/alerts", params={"country": "RWA"}, headers=admin)
    assert alerts.json()["items"]
