"""The subscriptions API: a secret shown once, a focal point kept to its countries, no
webhook into private networks (these settings are production's rule), pagination, pause,
resume, rotation, deletion and the delivery log's redelivery."""

import httpx
import pytest

from c2r_common.testing import TokenFactory, assert_field_refused

PATH = "/v1/alerts/subscriptions"
OFFLINE = "org.itu.c2r.school.offline"
PUBLIC_URL = "https://93.184.216.34/hooks/c2r"  # a public address: no DNS needed


@pytest.fixture
def ops(auth_headers: TokenFactory) -> dict[str, str]:
    return auth_headers("schools:read", subject="ops-team")


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> httpx.Response:
    return await client.post(PATH, json={"event_types": [OFFLINE]} | body, headers=headers)


async def test_a_webhook_subscription_shows_its_secret_once(
    client: httpx.AsyncClient, ops: dict[str, str]
) -> None:
    created = await _create(client, ops, webhook_url=PUBLIC_URL, countries=["rwa"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["countries"] == ["RWA"]
    assert (body["status"], body["consecutive_failures"]) == ("active", 0)
    read = await client.get(f"{PATH}/{body['id']}", headers=ops)
    assert read.status_code == 200
    assert "secret" not in read.json()


async def test_a_focal_point_subscribes_to_its_countries_only(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    focal = auth_headers("schools:read", countries=["RWA"], subject="focal-rwa")
    own = await _create(client, focal, email="focal@example.org")
    assert own.status_code == 201, own.text
    assert own.json()["countries"] == ["RWA"]  # none asked: the token's own
    other = await _create(client, focal, email="focal@example.org", countries=["KEN"])
    assert other.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://224.0.0.1/hook",
        "ftp://93.184.216.34/hook",
    ],
)
async def test_a_webhook_to_a_private_address_is_refused(
    client: httpx.AsyncClient, ops: dict[str, str], url: str
) -> None:
    assert_field_refused(await _create(client, ops, webhook_url=url), "body.webhook_url")


async def test_a_subscription_names_known_events_and_a_channel(
    client: httpx.AsyncClient, ops: dict[str, str]
) -> None:
    unknown = await client.post(
        PATH, json={"event_types": ["org.itu.c2r.nope"], "email": "a@b.org"}, headers=ops
    )
    assert_field_refused(unknown, "body.event_types.0")
    neither = await _create(client, ops)
    assert neither.status_code == 422
    assert "give webhook_url, email, or both" in neither.text
    # Both: the events go to the webhook, the address is told when it is paused.
    both = await _create(client, ops, webhook_url=PUBLIC_URL, email="a@b.org")
    assert both.status_code == 201, both.text
    assert (both.json()["webhook_url"], both.json()["email"]) == (PUBLIC_URL, "a@b.org")
    digest_webhook = await _create(client, ops, webhook_url=PUBLIC_URL, digest=True)
    assert digest_webhook.status_code == 422
    digest_both = await _create(client, ops, webhook_url=PUBLIC_URL, email="a@b.org", digest=True)
    assert digest_both.status_code == 422
    no_scope = await _create(client, {}, email="a@b.org")
    assert no_scope.status_code == 401


async def test_subscriptions_are_listed_by_page_and_kept_from_other_subjects(
    client: httpx.AsyncClient, ops: dict[str, str], auth_headers: TokenFactory
) -> None:
    ids = [(await _create(client, ops, email=f"ops{i}@example.org")).json()["id"] for i in range(3)]
    first = (await client.get(PATH, params={"limit": 2}, headers=ops)).json()
    second = (
        await client.get(PATH, params={"limit": 2, "cursor": first["next_cursor"]}, headers=ops)
    ).json()
    assert [s["id"] for s in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None
    stranger = auth_headers("schools:read", subject="someone-else")
    assert (await client.get(f"{PATH}/{ids[0]}", headers=stranger)).status_code == 404
    assert (await client.get(PATH, headers=stranger)).json()["items"] == []


async def test_pause_resume_rotate_and_delete(
    client: httpx.AsyncClient, ops: dict[str, str]
) -> None:
    created = (await _create(client, ops, webhook_url=PUBLIC_URL)).json()
    url = f"{PATH}/{created['id']}"
    paused = await client.post(f"{url}/pause", headers=ops)
    assert (paused.json()["status"], paused.json()["paused_reason"]) == (
        "paused",
        "paused by its owner",
    )
    assert (await client.post(f"{url}/resume", headers=ops)).json()["status"] == "active"
    rotated = await client.post(f"{url}/rotate-secret", headers=ops)
    assert rotated.json()["secret"] not in (None, created["secret"])
    mail = (await _create(client, ops, email="ops@example.org")).json()
    assert (await client.post(f"{PATH}/{mail['id']}/rotate-secret", headers=ops)).status_code == 409
    missing = await client.post(f"{url}/deliveries/999999/redeliver", headers=ops)
    assert missing.status_code == 404
    assert (await client.delete(url, headers=ops)).status_code == 204
    assert (await client.get(url, headers=ops)).status_code == 404
