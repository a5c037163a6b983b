import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page, PageParams, page_params
from c2r_common.problems import NotFound
from school_monitor.agents import service
from school_monitor.agents.auth import forget_revoked_agent
from school_monitor.agents.models import Agent
from school_monitor.agents.schemas import AgentCreated, AgentIn, AgentOut
from school_monitor.measurements.dependencies import SettingsDep
from school_monitor.schools.service import get_school, visible_school

router = APIRouter(prefix="/v1/agents", tags=["agents"], responses=problem_responses(401, 403))
Registrar = Annotated[Principal, Depends(require_scopes(Scope.AGENTS_WRITE))]


async def managed_agent(principal: Registrar, agent_id: uuid.UUID, db: SessionDep) -> Agent:
    agent = await service.get_agent(db, agent_id)
    school = await get_school(db, agent.school_id)
    if not principal.can_access_country(school.country_iso3):
        # An agent of another country answers as a missing one.
        raise NotFound(f"No agent {agent_id}.")
    return agent


ManagedAgent = Annotated[Agent, Depends(managed_agent)]


@router.post(
    "",
    response_model=AgentCreated,
    status_code=201,
    summary="Register a device for a school; its token is returned this once",
    description="A device has one active agent per school: registering it again is a 409 "
    "until its agent is revoked.",
    responses=problem_responses(404, 409, 422),
)
async def register_agent(
    principal: Registrar, data: AgentIn, db: SessionDep, settings: SettingsDep
) -> AgentCreated:
    school = await visible_school(db, principal, data.school_id)
    agent, token = await service.register_agent(
        db, data, school, settings.extra_generic_hardware_ids
    )
    return AgentCreated(**AgentOut.model_validate(agent).model_dump(), token=token)


@router.get(
    "",
    response_model=Page[AgentOut],
    summary="List agents",
    responses=problem_responses(404, 422),  # 404: no such school_id
)
async def list_agents(
    principal: Registrar,
    db: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    school_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[AgentOut]:
    if school_id is not None:
        await visible_school(db, principal, school_id)
    agents, next_cursor = await service.list_agents(db, school_id, principal.countries, page)
    return Page(items=[AgentOut.model_validate(a) for a in agents], next_cursor=next_cursor)


@router.get(
    "/{agent_id}", response_model=AgentOut, summary="One agent", responses=problem_responses(404)
)
async def get_agent(agent: ManagedAgent) -> AgentOut:
    return AgentOut.model_validate(agent)


@router.post(
    "/{agent_id}/revoke",
    response_model=AgentOut,
    summary="Revoke the agent's token: its pushes are refused from now on",
    responses=problem_responses(404),
)
async def revoke_agent(agent: ManagedAgent, db: SessionDep, request: Request) -> AgentOut:
    revoked = await service.revoke_agent(db, agent)
    forget_revoked_agent(request, db, agent.id)
    return AgentOut.model_validate(revoked)
