"""A hostile receiver answering an error with an endless body: at most the error's length
of it is read, and the attempt ends; a receiver named by a name with an IPv6 and an IPv4
address is reached over IPv4 (real HTTP servers on loopback)."""

import asyncio
import socket
import threading

import httpx
from webhook_receiver import WebhookReceiver, free_port

from c2r_common.notifications.webhooks import send_webhook


def endless_error_server(port: int, stop: threading.Event) -> socket.socket:
    listener = socket.create_server(("127.0.0.1", port))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 500 Internal Server Error\r\n"
                b"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"x" * 65536
            try:
                while not stop.is_set():  # never ends by itself
                    connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:  # the sender hung up: what it must do
                pass

    threading.Thread(target=serve, daemon=True).start()
    return listener


async def test_an_endless_error_body_is_read_up_to_the_error_length_only() -> None:
    port, stop = free_port(), threading.Event()
    listener = endless_error_server(port, stop)
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            async with asyncio.timeout(10):
                result = await send_webhook(
                    client,
                    f"http://127.0.0.1:{port}/hooks",
                    secret="whsec_" + "A" * 43 + "=",
                    message_id="msg_1",
                    body=b"{}",
                    refuse_private=False,
                    time_limit=5,
                )
    finally:
        stop.set()
        listener.close()
    assert (result.ok, result.status_code, result.permanent) == (False, 500, False)
    assert result.error is not None
    assert result.error.startswith("HTTP 500: xxx")
    assert len(result.error) == 1000


async def test_a_receiver_named_localhost_and_listening_on_ipv4_only_is_reached() -> None:
    """Where private URLs are allowed (development): `localhost` resolves to ::1 and
    127.0.0.1, and the receiver listens on 127.0.0.1 only."""
    receiver = WebhookReceiver(secret="whsec_" + "A" * 43 + "=").start()
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            result = await send_webhook(
                client,
                f"http://localhost:{receiver.port}/hooks/c2r",
                secret=receiver.secret,
                message_id="msg_1",
                body=b'{"specversion": "1.0"}',
                refuse_private=False,
                time_limit=5,
            )
    finally:
        receiver.stop()
    assert (result.ok, result.status_code) == (True, 204), result.error
    assert [r.webhook_id for r in receiver.requests] == ["msg_1"]
