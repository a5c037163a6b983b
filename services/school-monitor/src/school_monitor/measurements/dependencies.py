from typing import Annotated

from fastapi import Depends, Request

from c2r_common.auth import Principal, Scope, require_scopes
from school_monitor.config import SchoolMonitorSettings

Pusher = Annotated[Principal, Depends(require_scopes(Scope.MEASUREMENTS_WRITE))]


async def get_service_settings(request: Request) -> SchoolMonitorSettings:
    settings: SchoolMonitorSettings = request.app.state.settings
    return settings


# Dependencies are async: FastAPI runs plain `def` ones in a thread pool, a costly hop
# on the path of every pushed measurement.
SettingsDep = Annotated[SchoolMonitorSettings, Depends(get_service_settings)]
