"""Request body size limit, answered with a 413 problem+json."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from c2r_common.errors import ProblemError


def _too_large(limit: int) -> ProblemError:
    return ProblemError(413, f"The request body exceeds the limit of {limit} bytes.")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimitMiddleware:
    """Refuses bodies over `max_bytes`: at once when Content-Length says so, otherwise
    as soon as the streamed body passes the limit (chunked uploads declare no length)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        declared_too_large = declared is not None and declared > self.max_bytes
        received = 0

        # Raised from receive() so the app's own handlers turn it into problem+json.
        async def limited_receive() -> Message:
            nonlocal received
            if declared_too_large:
                raise _too_large(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _too_large(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)
