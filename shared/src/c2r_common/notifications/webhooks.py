"""Webhook delivery: the CloudEvent POSTed, signed per Standard Webhooks.

Headers: `webhook-id` (the event's id: the same on every attempt, so that the receiver can
drop a repeat), `webhook-timestamp` (seconds) and `webhook-signature` (`v1,<base64 HMAC>`
over `id.timestamp.body`). Delivery is at least once on the wire: a sender killed between
the receiver's 2xx and the mark sends again after its lease, with the same webhook-id.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from c2r_common.notifications.addresses import (
    Destination,
    ForbiddenDestination,
    UnresolvedDestination,
    resolve,
)
from c2r_common.notifications.events import CONTENT_TYPE

_MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None
    latency_ms: float
    error: str | None
    permanent: bool = False  # no later attempt can succeed (a forbidden destination)


def signature_headers(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(message_id, at, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def _pinned_url(url: str, destination: Destination) -> str:
    """The URL with its host replaced by the checked address (the Host header and TLS
    name keep the original): the connection cannot go to another address than checked."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(host=destination.address, port=destination.port))


async def send_webhook(
    client: httpx.AsyncClient,
    url: str,
    *,
    secret: str,
    message_id: str,
    body: bytes,
    refuse_private: bool,
    time_limit: float,
) -> SendResult:
    started = time.perf_counter()
    try:
        destination = await resolve(url, refuse_private=refuse_private, time_limit=time_limit)
    except UnresolvedDestination as exc:
        return SendResult(False, None, (time.perf_counter() - started) * 1000, str(exc))
    except ForbiddenDestination as exc:
        return SendResult(False, None, 0.0, str(exc), permanent=True)
    headers = {
        "content-type": CONTENT_TYPE,
        "host": httpx.URL(url).netloc.decode(),
        **signature_headers(secret, message_id, body, datetime.now(UTC)),
    }
    request = client.build_request(
        "POST",
        _pinned_url(url, destination),
        content=body,
        headers=headers,
        extensions={"sni_hostname": destination.host},
    )
    try:
        response = await client.send(request, stream=True)
        try:
            status_code = response.status_code
            # At most the error's length of the body: a hostile receiver's endless
            # answer is never read into memory.
            excerpt = b"" if response.is_success else await _head(response, _MAX_ERROR_CHARS)
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        return SendResult(False, None, latency, f"{type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS])
    latency = (time.perf_counter() - started) * 1000
    if 200 <= status_code < 300:
        return SendResult(True, status_code, latency, None)
    text = excerpt.decode(errors="replace")
    return SendResult(False, status_code, latency, f"HTTP {status_code}: {text}"[:_MAX_ERROR_CHARS])


async def _head(response: httpx.Response, limit: int) -> bytes:
    read = bytearray()
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= limit:
            break
    return bytes(read[:limit])
