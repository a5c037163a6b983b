"""Which webhook URLs may be called: no server-side request forgery into our own network.

Checked when a subscription is made and again at each delivery, on the addresses the name
resolves to at that moment (a name that resolved to a public address at subscribe time
may point to 127.0.0.1 later: DNS rebinding); the delivery then connects to the very
address that was checked.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiodns
from pycares import errno as ares_errno

# What the DNS says of a name that does not exist (or has no address), as against a DNS
# that did not answer.
_NO_SUCH_NAME = frozenset(
    {
        ares_errno.ARES_ENOTFOUND,
        ares_errno.ARES_ENODATA,
        ares_errno.ARES_ENONAME,
        ares_errno.ARES_EBADNAME,
    }
)


class ForbiddenDestination(Exception):
    """The URL is not one a webhook may be sent to."""


class UnresolvedDestination(ForbiddenDestination):
    """The name did not resolve in time: refused now, though a later attempt may succeed."""


@dataclass(frozen=True)
class Destination:
    host: str
    port: int
    address: str  # the resolved address the connection goes to


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def parse_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ForbiddenDestination("a webhook URL is http(s)://host/...")
    if parts.username or parts.password:
        raise ForbiddenDestination("a webhook URL carries no credentials")
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname, parts.port or default


async def _lookup(host: str, port: int, time_limit: float) -> list[str]:
    """The addresses of `host`, from the hosts file and DNS as the system's resolver
    configures them, by c-ares: a lookup past its time limit is cancelled, where a thread's
    getaddrinfo would run on until the resolver gives up, and names that never resolve
    would hold the executor threads other lookups wait for."""
    resolver = aiodns.DNSResolver()
    try:
        # Bounded: a slow resolver must not hold a request, or the sequential dispatcher
        # pass, beyond the time a receiver has to answer.
        async with asyncio.timeout(time_limit):
            result = await resolver.getaddrinfo(host, port=port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise UnresolvedDestination(f"{host} did not resolve within {time_limit:g} s") from None
    except aiodns.error.DNSError as exc:
        code, reason = (*exc.args, None, exc)[:2]
        if code in _NO_SUCH_NAME:
            raise ForbiddenDestination(f"{host} does not resolve: {reason}") from None
        # The DNS servers failed to answer, not the name: a later attempt may succeed.
        raise UnresolvedDestination(f"{host} could not be resolved now: {reason}") from None
    finally:
        await resolver.close()
    addresses = [_text(node.addr[0]) for node in result.nodes]
    # IPv4 first (a stable sort): the connection goes to the first address, and a host with
    # no IPv6 route, or a receiver listening on IPv4 only (`localhost` answers ::1 too),
    # would be unreachable by an IPv6 one.
    return sorted(addresses, key=lambda address: ":" in address)


def _text(address: bytes | str) -> str:
    return address.decode() if isinstance(address, bytes) else address


async def resolve(url: str, *, refuse_private: bool, time_limit: float) -> Destination:
    host, port = parse_url(url)
    addresses = await _lookup(host, port, time_limit)
    if not addresses:
        raise ForbiddenDestination(f"{host} does not resolve")
    if refuse_private:
        # Every address, not the first: a name with a public and a private one is refused.
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise ForbiddenDestination(f"{host} resolves to a non-public address ({private[0]})")
    return Destination(host=host, port=port, address=addresses[0])
