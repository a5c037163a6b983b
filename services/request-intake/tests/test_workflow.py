"""The review workflow: the matrix of moves by role, the audit trail, ETag / If-Match."""

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from c2r_common.auth import Principal
from c2r_common.errors import ProblemError
from c2r_common.testing import TokenFactory
from request_intake.assistance_requests import service
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.assistance_requests.schemas import TransitionIn
from request_intake.assistance_requests.workflow import TRANSITIONS, Role, Status

# How to bring a fresh request to each status (staff token holds every staff role).
PATHS: dict[Status, list[str]] = {
    Status.SUBMITTED: [],
    Status.SCREENING: ["screening"],
    Status.INFO_REQUESTED: ["screening", "info_requested"],
    Status.RESUBMITTED: ["screening", "info_requested", "!resubmitted"],
    Status.UNDER_REVIEW: ["screening", "under_review"],
    Status.APPROVED: ["screening", "under_review", "approved"],
    Status.REJECTED: ["screening", "under_review", "rejected"],
    Status.IN_PROGRESS: ["screening", "under_review", "approved", "in_progress"],
    Status.COMPLETED: ["screening", "under_review", "approved", "in_progress", "completed"],
    Status.WITHDRAWN: ["!withdrawn"],
}
ROLE_SCOPES = {
    Role.FOCAL_POINT: ("requests:submit", "requests:read"),
    Role.REVIEWER: ("requests:review",),
    Role.APPROVER: ("requests:approve",),
}


async def bring_to(api: Any, focal: dict[str, str], request_id: str, status: Status) -> None:
    for step in PATHS[status]:
        headers = focal if step.startswith("!") else api.staff
        response = await api.move(headers, request_id, step.lstrip("!"))
        assert response.status_code == 200, response.text


MATRIX = [
    (source, target, role)
    for source in Status
    for target in Status
    for role in Role
    if source is not target
]


@pytest.mark.parametrize(("source", "target", "role"), MATRIX)
async def test_workflow_matrix_by_role(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    auth_headers: TokenFactory,
    client: httpx.AsyncClient,
    source: Status,
    target: Status,
    role: Role,
) -> None:
    call = await api.create_call(assistance_types=["training"])
    request = await api.submit(rwanda, call["id"], assistance_type="training")
    await bring_to(api, rwanda, request["id"], source)
    headers = auth_headers(
        *ROLE_SCOPES[role], countries=["RWA"] if role is Role.FOCAL_POINT else None
    )
    response = await api.move(headers, request["id"], target.value)
    expected_role = TRANSITIONS.get((source, target))
    if expected_role is None:
        assert response.status_code == 409, response.text
        allowed = {(a["to"], a["role"]) for a in response.json()["allowed"]}
        assert allowed == {(t.value, r.value) for (s, t), r in TRANSITIONS.items() if s is source}
    elif expected_role is role:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target.value
    else:
        assert response.status_code == 403, response.text
        assert expected_role.value in response.json()["detail"]


async def test_every_move_is_kept_in_the_audit_trail_with_role_and_comment(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call(assistance_types=["training"])
    request = await api.submit(rwanda, call["id"], assistance_type="training")
    await api.walk(request["id"], "screening", "info_requested")
    clock.advance(days=1)
    answer = await client.post(
        f"/v1/requests/{request['id']}/transitions",
        json={"to": "resubmitted", "comment": "budget table attached"},
        headers=rwanda,
    )
    assert answer.status_code == 200
    trail = (await client.get(f"/v1/requests/{request['id']}/transitions", headers=rwanda)).json()
    assert [(e["from_status"], e["to_status"], e["role"], e["actor"]) for e in trail["items"]] == [
        (None, "submitted", "focal_point", "rw-focal"),
        ("submitted", "screening", "reviewer", "staff"),
        ("screening", "info_requested", "reviewer", "staff"),
        ("info_requested", "resubmitted", "focal_point", "rw-focal"),
    ]
    assert trail["items"][-1]["comment"] == "budget table attached"
    assert trail["items"][-1]["at"] == "2026-06-11T08:00:00Z"


async def test_a_transition_needs_a_comment(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])
    response = await client.post(
        f"/v1/requests/{request['id']}/transitions", json={"to": "screening"}, headers=api.staff
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.comment"


async def test_a_stale_if_match_is_refused_so_concurrent_reviewers_do_not_overwrite(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])
    read = await client.get(f"/v1/requests/{request['id']}", headers=api.staff)
    etag = read.headers["etag"]
    first = await api.move(api.staff, request["id"], "screening", **{"If-Match": etag})
    assert first.status_code == 200
    assert first.headers["etag"] != etag
    second = await api.move(api.staff, request["id"], "screening", **{"If-Match": etag})
    assert second.status_code == 412
    assert second.json()["current_etag"] == first.headers["etag"]
    fresh = await api.move(
        api.staff, request["id"], "under_review", **{"If-Match": first.headers["etag"]}
    )
    assert fresh.status_code == 200


async def test_a_focal_point_cannot_move_another_countrys_request(
    api: Any, clock: Any, rwanda: dict[str, str], auth_headers: TokenFactory
) -> None:
    call = await api.create_call()
    kenya = auth_headers("requests:submit", "requests:read", countries=["KEN"])
    request = await api.submit(kenya, call["id"], country_iso3="KEN")
    response = await api.move(rwanda, request["id"], "withdrawn")
    assert response.status_code == 404


async def test_approving_records_the_decision_time_and_ends_the_sla(
    api: Any, clock: Any, rwanda: dict[str, str]
) -> None:
    call = await api.create_call(assistance_types=["training"])
    request = await api.submit(rwanda, call["id"], assistance_type="training")
    approved = await api.walk(request["id"], "screening", "under_review", "approved")
    assert approved["decided_at"] == "2026-06-10T08:00:00Z"
    assert approved["stage_due_at"] is None


async def test_concurrent_reviewers_without_if_match_cannot_overwrite_each_other(
    app: FastAPI, api: Any, clock: Any, rwanda: dict[str, str]
) -> None:
    call = await api.create_call()
    created = await api.submit(rwanda, call["id"])
    request_id = uuid.UUID(created["id"])
    reviewer = Principal(subject="reviewer", scopes=frozenset({"requests:review"}))
    comment = TransitionIn(to=Status.SCREENING, comment="taking it")
    sessionmaker = app.state.database.sessionmaker
    sla = app.state.sla_policy
    async with sessionmaker() as slow:
        stale = await slow.get(AssistanceRequest, request_id)  # both reviewers read version 1
        async with sessionmaker() as fast:
            current = await fast.get(AssistanceRequest, request_id)
            await service.transition(fast, current, comment, reviewer, clock.now, sla)
            await fast.commit()
        with pytest.raises(ProblemError) as refused:
            await service.transition(slow, stale, comment, reviewer, clock.now, sla)
        assert refused.value.status_code == 412


async def test_a_focal_point_completes_its_request_when_information_is_requested(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])
    asked = await api.walk(request["id"], "screening", "info_requested")
    attachment = {
        "filename": "budget.xlsx",
        "media_type": "application/vnd.ms-excel",
        "size_bytes": 10,
    }
    response = await client.patch(
        f"/v1/requests/{request['id']}",
        json={"attachments": [attachment], "comment": "budget added"},
        headers=rwanda | {"If-Match": f'"{asked["version"]}"'},
    )
    assert response.status_code == 200, response.text
    assert response.json()["attachments"][0]["filename"] == "budget.xlsx"
    assert response.headers["etag"] == f'"{asked["version"] + 1}"'
    trail = (await client.get(f"/v1/requests/{request['id']}/transitions", headers=rwanda)).json()
    last = trail["items"][-1]
    assert (last["from_status"], last["to_status"]) == ("info_requested", "info_requested")
    assert last["comment"] == "edited attachments: budget added"


async def test_a_request_under_review_cannot_be_edited_and_staff_cannot_edit(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    client: httpx.AsyncClient,
    reviewer: dict[str, str],
) -> None:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])
    edit = {"title": "changed", "comment": "typo"}
    by_reviewer = await client.patch(f"/v1/requests/{request['id']}", json=edit, headers=reviewer)
    assert by_reviewer.status_code == 403
    await api.walk(request["id"], "screening", "under_review")
    late = await client.patch(f"/v1/requests/{request['id']}", json=edit, headers=rwanda)
    assert late.status_code == 409
    assert late.json()["type"].endswith("/not-editable")
