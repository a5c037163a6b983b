"""Which webhook URLs may be called: no server-side request forgery into our own network.

Checked when a subscription is made and again at each delivery, on the addresses the name
resolves to at that moment (a name that resolved to a public address at subscribe time
may point to 127.0.0.1 later: DNS rebinding); the delivery then connects to the very
address that was checked.
"""

import asyncio
import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

# Webhook names are looked up on threads of their own. A lookup that outlives its time
# limit runs on until the system resolver gives up (its timeout times its attempts): on
# asyncio's default executor, a few subscribers' names that never resolve would hold the
# threads that the service's own lookups (its database, SMTP and peer services) wait for.
_WEBHOOK_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-lookup")


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


async def resolve(url: str, *, refuse_private: bool, time_limit: float) -> Destination:
    host, port = parse_url(url)
    try:
        # Bounded: a slow resolver must not hold a request, or the sequential dispatcher
        # pass, beyond the time a receiver has to answer.
        async with asyncio.timeout(time_limit):
            infos = await asyncio.get_running_loop().run_in_executor(
                _WEBHOOK_LOOKUPS, partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
            )
    except TimeoutError:
        raise UnresolvedDestination(f"{host} did not resolve within {time_limit:g} s") from None
    except OSError as exc:
        raise ForbiddenDestination(f"{host} does not resolve: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise ForbiddenDestination(f"{host} does not resolve")
    if refuse_private:
        # Every address, not the first: a name with a public and a private one is refused.
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise ForbiddenDestination(f"{host} resolves to a non-public address ({private[0]})")
    return Destination(host=host, port=port, address=addresses[0])
