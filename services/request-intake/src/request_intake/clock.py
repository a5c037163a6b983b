"""The service's notion of "now", replaceable so tests can stand on a deadline's edge."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from c2r_common.db import utcnow

Clock = Callable[[], datetime]


def install_clock(app: FastAPI, clock: Clock = utcnow) -> None:
    app.state.clock = clock


def app_clock(app: FastAPI) -> Clock:
    clock: Clock = app.state.clock
    return clock


def current_time(request: Request) -> datetime:
    return app_clock(request.app)()


Now = Annotated[datetime, Depends(current_time)]
