import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page, PageParams, page_params
from school_monitor.agents.deployment_keys import service
from school_monitor.agents.deployment_keys.auth import forget_revoked_key
from school_monitor.agents.deployment_keys.schemas import (
    DeploymentKeyCreated,
    DeploymentKeyIn,
    DeploymentKeyOut,
)
from school_monitor.agents.models import DeploymentKey
from school_monitor.measurements.dependencies import SettingsDep

router = APIRouter(
    prefix="/v1/agents/deployment-keys",
    tags=["agents"],
    responses=problem_responses(401, 403),
)
KeyAdmin = Annotated[Principal, Depends(require_scopes(Scope.ADMIN))]


async def managed_key(principal: KeyAdmin, key_id: uuid.UUID, db: SessionDep) -> DeploymentKey:
    return await service.get_key(db, key_id, principal.countries)


ManagedKey = Annotated[DeploymentKey, Depends(managed_key)]


@router.post(
    "",
    response_model=DeploymentKeyCreated,
    status_code=201,
    summary="Create a deployment key for agent builds; the key is returned this once",
    responses=problem_responses(409, 422),
)
async def create_deployment_key(
    principal: KeyAdmin, data: DeploymentKeyIn, db: SessionDep, settings: SettingsDep
) -> DeploymentKeyCreated:
    for country in data.countries:
        principal.require_country(country)
    record, key = await service.create_key(db, data, principal.subject, settings.key_pepper)
    return DeploymentKeyCreated(**DeploymentKeyOut.model_validate(record).model_dump(), key=key)


@router.get(
    "",
    response_model=Page[DeploymentKeyOut],
    summary="List deployment keys",
    responses=problem_responses(422),
)
async def list_deployment_keys(
    principal: KeyAdmin, db: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[DeploymentKeyOut]:
    records, next_cursor = await service.list_keys(db, principal.countries, page)
    return Page(
        items=[DeploymentKeyOut.model_validate(r) for r in records], next_cursor=next_cursor
    )


@router.get(
    "/{key_id}",
    response_model=DeploymentKeyOut,
    summary="One deployment key",
    responses=problem_responses(404),
)
async def get_deployment_key(record: ManagedKey) -> DeploymentKeyOut:
    return DeploymentKeyOut.model_validate(record)


@router.post(
    "/{key_id}/revoke",
    response_model=DeploymentKeyOut,
    summary="Revoke a deployment key: every agent build carrying it is refused from now on",
    responses=problem_responses(404),
)
async def revoke_deployment_key(
    record: ManagedKey, db: SessionDep, request: Request
) -> DeploymentKeyOut:
    revoked = await service.revoke_key(db, record)
    forget_revoked_key(request, db, record.id)
    return DeploymentKeyOut.model_validate(revoked)
