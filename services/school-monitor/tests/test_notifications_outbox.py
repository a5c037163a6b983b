"""An event loads only the subscriptions that may want it (type and country narrowed in
SQL), and still reaches each one that does, on real commits."""

from pathlib import Path

from notify_support import emit_committed, notifying_app, now, school_event, subscribe
from sqlalchemy import select

from c2r_common.notifications.outbox import candidate_subscriptions
from c2r_common.testing import ServiceUnderTest
from school_monitor.notifications.models import NOTIFICATIONS

OFFLINE = "org.itu.c2r.school.offline"
ONLINE = "org.itu.c2r.school.online"


async def test_an_event_loads_only_the_subscriptions_of_its_type_and_country(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with notifying_app(service_under_test, tmp_path) as (app, client):
        mail = {"email": "ops@example.org"}
        wanted = {
            (await subscribe(client, event_types=[OFFLINE], **mail))["id"],
            (await subscribe(client, event_types=[ONLINE, OFFLINE], countries=["RWA"], **mail))[
                "id"
            ],
        }
        await subscribe(client, event_types=[ONLINE], **mail)
        await subscribe(client, event_types=[OFFLINE], countries=["KEN"], **mail)
        event = school_event(0, 0, False, now())  # offline, in RWA
        await emit_committed(app, [event])
        d = NOTIFICATIONS.delivery
        async with app.state.database.sessionmaker() as session:
            loaded = (await session.scalars(candidate_subscriptions(NOTIFICATIONS, event))).all()
            delivered_to = (await session.scalars(select(d.subscription_id))).all()
    assert {str(s.id) for s in loaded} == wanted
    assert {str(i) for i in delivered_to} == wanted
