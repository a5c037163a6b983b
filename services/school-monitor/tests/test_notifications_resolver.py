"""Webhook names against the real resolver configuration (c-ares reads the hosts file and
resolv.conf as glibc does), on a database
of the test's own: resolver_scenario.py runs in a mount namespace of its own (`unshare -m`,
root) in which /etc/hosts and /etc/resolv.conf are this test's files, so a name can change
its answer between the subscription and the delivery, as DNS rebinding makes it, and a
lookup can reach a DNS server that never answers."""

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from webhook_receiver import WebhookReceiver

from c2r_common.testing import ServiceUnderTest, fresh_database

TESTS = Path(__file__).resolve().parent
STUB_DNS = "127.0.0.77"  # a loopback address of its own, not a local stub resolver's


SERVFAIL, NXDOMAIN = 2, 3  # DNS response codes


def dns_answer(query: bytes) -> bytes | None:
    """The reply to a query for `servfail.…` or `nxdomain.…` (that code, no records); None
    (no reply) for any other name."""
    name = query[12 : 12 + 1 + query[12]][1:].decode(errors="replace")  # its first label
    code = {"servfail": SERVFAIL, "nxdomain": NXDOMAIN}.get(name)
    if code is None:
        return None
    flags = 0x8000 | (query[2] & 0x01) << 8 | 0x0080 | code  # QR, RD copied, RA, RCODE
    question = query[12:]  # the query has its question only
    return query[:2] + flags.to_bytes(2, "big") + b"\x00\x01" + b"\x00" * 6 + question


@pytest.fixture
def stub_dns_server() -> Iterator[str]:
    """A DNS server answering as dns_answer says, until the test ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((STUB_DNS, 53))
        server.settimeout(0.2)
        done = threading.Event()

        def serve() -> None:
            while not done.is_set():
                try:
                    query, client = server.recvfrom(512)
                except TimeoutError:
                    continue
                answer = dns_answer(query)
                if answer is not None:
                    server.sendto(answer, client)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield STUB_DNS
        finally:
            done.set()
            thread.join()


def run_in_own_mount_namespace(
    argv: list[str], *, hosts: Path, resolv_conf: Path
) -> subprocess.CompletedProcess[str]:
    mounts = (
        f"mount --bind {shlex.quote(str(hosts))} /etc/hosts && "
        f"mount --bind {shlex.quote(str(resolv_conf))} /etc/resolv.conf && "
        f"exec {shlex.join(argv)}"
    )
    environment = os.environ | {"PYTHONPATH": str(TESTS)}
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", mounts],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


async def test_names_rebound_to_loopback_or_failing_at_the_dns_are_never_called(
    service_under_test: ServiceUnderTest, tmp_path: Path, stub_dns_server: str
) -> None:
    hosts, resolv_conf = tmp_path / "hosts", tmp_path / "resolv.conf"
    hosts.write_text("")
    # One server, one try, a timeout four times the service's: only the service's own bound
    # ends its wait.
    resolv_conf.write_text(f"nameserver {stub_dns_server}\noptions timeout:4 attempts:1\n")
    receiver = WebhookReceiver().start()  # the loopback address the name is rebound to
    try:
        async with fresh_database(service_under_test.alembic_ini, "resolver", tmp_path) as url:
            argv = [sys.executable, str(TESTS / "resolver_scenario.py"), url, str(hosts)]
            done = run_in_own_mount_namespace(
                [*argv, str(receiver.port)], hosts=hosts, resolv_conf=resolv_conf
            )
    finally:
        receiver.stop()
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    # Both names resolved to a public address when they were subscribed; loopback itself
    # is refused then.
    assert result["subscribed"] == [201, 201, 201, 201]
    assert result["loopback_refused"] == 422
    # Rebound to 127.0.0.1: refused at delivery for good, and the receiver there got nothing.
    assert result["rebound"]["status"] == "dead"
    assert "resolves to a non-public address (127.0.0.1)" in result["rebound"]["error"]
    assert receiver.requests == []
    # The silent DNS: the lookup ends at the time limit, and the delivery is retried.
    assert result["hanging"]["status"] == "pending"
    assert "did not resolve within 1 s" in result["hanging"]["error"]
    assert result["pass_seconds"] < 5
    # A DNS that fails is asked again later; a name it says does not exist is given up.
    assert result["servfail"]["status"] == "pending"
    assert "could not be resolved now" in result["servfail"]["error"]
    assert result["nxdomain"]["status"] == "dead"
    assert "does not resolve" in result["nxdomain"]["error"]
    # A subscription to that name now is refused after the same bounded wait.
    refused = result["hanging_subscribe"]
    assert refused["status"] == 422
    assert "did not resolve within 1 s" in json.dumps(refused["body"])
    assert 0.9 <= refused["seconds"] < 5
    # Many lookups hanging at once hold up neither the service's own lookups nor another
    # subscriber's.
    assert result["other_lookup_seconds"] < 0.5, result
