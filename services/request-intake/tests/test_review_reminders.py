"""Review assignments' due dates in the reminders of their reviewer and, once past, in the
overdue summary."""

from typing import Any

import httpx
from prometheus_client import REGISTRY

from c2r_common.testing import TokenFactory

FORM = {
    "criteria": [{"code": "relevance", "label": "Relevance to C2R", "scale_max": 5, "weight": 1}],
    "reviews_required": 1,
}


async def request_under_review(api: Any, focal: dict[str, str]) -> str:
    call = await api.create_call()
    put = await api.client.put(f"/v1/calls/{call['id']}/review-form", json=FORM, headers=api.staff)
    assert put.status_code == 200, put.text
    request = await api.submit(focal, call["id"])
    await api.walk(request["id"], "screening", "under_review")
    return str(request["id"])


async def review_reminders(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    response = await client.get("/v1/requests/reminders", headers=headers)  # 7 days
    assert response.status_code == 200, response.text
    return [i for i in response.json()["items"] if i["kind"] == "review_due"]


async def overdue_reviews(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get("/v1/requests/overdue/summary", headers=headers)
    assert response.status_code == 200, response.text
    count: int = response.json()["overdue_reviews"]
    return count


async def test_a_pending_review_is_its_reviewers_reminder_then_overdue_until_submitted(
    api: Any,
    clock: Any,
    approver: dict[str, str],
    rwanda: dict[str, str],
    auth_headers: TokenFactory,
    client: httpx.AsyncClient,
) -> None:
    carol = auth_headers("requests:read", "requests:review", subject="carol")
    dave = auth_headers("requests:read", "requests:review", subject="dave")
    request_id = await request_under_review(api, rwanda)
    assigned = await client.post(
        f"/v1/requests/{request_id}/reviewers",
        json={"reviewer": "carol", "role": "technical", "due_at": "2026-06-15T12:00:00Z"},
        headers=approver,
    )
    assert assigned.status_code == 201, assigned.text
    later = await client.post(
        f"/v1/requests/{request_id}/reviewers",
        json={"reviewer": "dave", "role": "technical", "due_at": "2026-06-30T12:00:00Z"},
        headers=approver,
    )
    assert later.status_code == 201, later.text
    [reminder] = await review_reminders(client, carol)
    assert reminder["assignment_id"] == assigned.json()["id"]
    assert (reminder["request_id"], reminder["stage"]) == (request_id, "under_review")
    assert reminder["due_at"] == "2026-06-15T12:00:00Z"
    assert reminder["due_at_local"] == "2026-06-15T14:00:00+02:00"  # the SLA calendar's zone
    # Only the reviewer is reminded, and only within the window.
    assert await review_reminders(client, dave) == []
    assert await review_reminders(client, api.staff) == []
    assert await overdue_reviews(client, api.staff) == 0

    clock.advance(days=6)  # 16 June: carol's review is past due
    assert await review_reminders(client, carol) == []
    assert await overdue_reviews(client, api.staff) == 1
    assert await overdue_reviews(client, rwanda) == 1  # the focal point's own request
    assert REGISTRY.get_sample_value("c2r_intake_overdue_reviews") == 1
    submitted = await client.post(
        f"/v1/requests/{request_id}/reviews",
        json={"scores": {"relevance": 4}, "recommendation": "yes", "comments": "Clear."},
        headers=carol,
    )
    assert submitted.status_code == 201, submitted.text
    assert await overdue_reviews(client, api.staff) == 0
    assert REGISTRY.get_sample_value("c2r_intake_overdue_reviews") == 0


async def test_another_countrys_overdue_review_is_not_counted_for_a_focal_point(
    api: Any,
    clock: Any,
    approver: dict[str, str],
    rwanda: dict[str, str],
    auth_headers: TokenFactory,
    client: httpx.AsyncClient,
) -> None:
    request_id = await request_under_review(api, rwanda)
    assigned = await client.post(
        f"/v1/requests/{request_id}/reviewers",
        json={"reviewer": "carol", "role": "technical", "due_at": "2026-06-11T12:00:00Z"},
        headers=approver,
    )
    assert assigned.status_code == 201, assigned.text
    clock.advance(days=2)
    kenya = auth_headers("requests:read", "requests:submit", countries=["KEN"])
    assert await overdue_reviews(client, kenya) == 0
    assert await overdue_reviews(client, api.staff) == 1
