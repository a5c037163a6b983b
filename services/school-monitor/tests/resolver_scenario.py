"""The webhook name checks against the machine's real resolver, run by
test_notifications_resolver.py in a mount namespace of its own where /etc/hosts and
/etc/resolv.conf are files the test writes: a name is made to resolve to a public address
when it is subscribed, then to loopback (DNS rebinding), or is left to a DNS server that
never answers it (a resolver that hangs), fails (SERVFAIL) or says it does not exist.

Usage: python resolver_scenario.py DATABASE_URL HOSTS_FILE RECEIVER_PORT
Prints one JSON object with what the API and the dispatcher answered.
"""

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from notify_support import ADMIN, SUBSCRIPTIONS, dispatcher_of, emit_committed, now, school_event

from c2r_common.settings import Environment
from c2r_common.testing import asgi_client
from school_monitor.app import create_app
from school_monitor.config import SchoolMonitorSettings

PUBLIC = "93.184.216.34"
TIME_LIMIT = 1.0  # the webhook timeout, which bounds a name's lookup too
HANGING_AT_ONCE = 40  # more than asyncio's default executor has threads (at most 32)


async def _subscribe(client: Any, url: str) -> tuple[int, Any, float]:
    started = time.monotonic()
    response = await client.post(
        SUBSCRIPTIONS,
        json={"webhook_url": url, "event_types": ["org.itu.c2r.school.offline"]},
        headers=ADMIN,
    )
    return response.status_code, response.json(), time.monotonic() - started


async def _point(hosts: Path, names: dict[str, str]) -> None:
    """The hosts file with `names` (and localhost, which nothing else may answer here)."""
    lines = ["127.0.0.1 localhost", *(f"{address} {name}" for name, address in names.items())]
    await asyncio.to_thread(hosts.write_text, "\n".join(lines) + "\n")


async def _lookup_amid_hanging_ones(client: Any, port: int) -> float:
    """How long the service's own lookup of a name (as its database, SMTP and peer clients
    make them), and another subscriber's, take while many subscriptions wait on the silent
    resolver: the longer of the two."""
    crowd = [
        asyncio.create_task(_subscribe(client, f"http://hanging.example.test:{port}/{i}"))
        for i in range(HANGING_AT_ONCE)
    ]
    await asyncio.sleep(0.2)  # the crowd's lookups are under way
    started = time.monotonic()
    await asyncio.get_running_loop().getaddrinfo("localhost", 5432)
    seconds = time.monotonic() - started
    # Another subscriber's name resolves meanwhile too.
    healthy = await _subscribe(client, f"http://healthy.example.test:{port}/hooks/c2r")
    assert healthy[0] == 201, healthy
    assert all(status == 422 for status, _, _ in await asyncio.gather(*crowd))
    return max(seconds, healthy[2])


async def scenario(database_url: str, hosts: Path, port: int) -> dict[str, Any]:
    names = ("rebound", "hanging", "servfail", "nxdomain")
    await _point(hosts, {f"{name}.example.test": PUBLIC for name in names})
    settings = SchoolMonitorSettings(
        database_url=database_url,
        environment=Environment.TEST,
        summary_scan_seconds=0,
        notify_allow_private_urls=False,  # the production policy
        notify_webhook_timeout_seconds=TIME_LIMIT,
    )
    app = create_app(settings)
    result: dict[str, Any] = {}
    async with app.router.lifespan_context(app), asgi_client(app) as client:
        subscribed = {
            name: await _subscribe(client, f"http://{name}.example.test:{port}/hooks/c2r")
            for name in names
        }
        result["subscribed"] = [status for status, _, _ in subscribed.values()]
        result["loopback_refused"] = (await _subscribe(client, f"http://127.0.0.1:{port}/"))[0]
        # The names change under the subscriptions: one now points to loopback; the others
        # are in no hosts file and go to the DNS server, which never answers the first,
        # fails on the second (SERVFAIL) and says the third does not exist (NXDOMAIN).
        await _point(hosts, {"rebound.example.test": "127.0.0.1", "healthy.example.test": PUBLIC})
        await emit_committed(app, [school_event(0, 0, False, now())])
        dispatcher = dispatcher_of(app)
        started = time.monotonic()
        await dispatcher.run_once(app.state.database.sessionmaker)
        result["pass_seconds"] = time.monotonic() - started
        await dispatcher.aclose()
        for name, (_, body, _) in subscribed.items():
            log = await client.get(f"{SUBSCRIPTIONS}/{body['id']}/deliveries", headers=ADMIN)
            [delivery] = log.json()["items"]
            result[name] = {"status": delivery["status"], "error": delivery["last_error"]}
        status, body, seconds = await _subscribe(client, f"http://hanging.example.test:{port}/")
        result["hanging_subscribe"] = {"status": status, "body": body, "seconds": seconds}
        result["other_lookup_seconds"] = await _lookup_amid_hanging_ones(client, port)
    return result


if __name__ == "__main__":
    url, hosts_file, receiver_port = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(scenario(url, hosts_file, receiver_port))))
