"""Work that runs beside the HTTP server: the pruning of expired idempotency keys, once
across replicas (c2r_common.idempotency, under the service's prune lock)."""

from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from assessment_api.db import IdempotencyRecord
from c2r_common.db import Database
from c2r_common.idempotency import pruning_idempotency_records

SERVICE = "assessment-api"


def pruning_idempotency_keys(app: FastAPI) -> AbstractAsyncContextManager[None]:
    database: Database = app.state.database
    return pruning_idempotency_records(database, IdempotencyRecord, SERVICE, app.state.settings)
