"""Subscriptions: who receives which events, where. Domain logic, no HTTP.

A subscription belongs to the token subject that made it; only that subject (or an admin)
sees it, others get a 404 as for a missing one. A token limited to countries subscribes
to those countries only, and its subscription keeps that limit for good.
"""

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal, Scope
from c2r_common.db import utcnow
from c2r_common.notifications.addresses import ForbiddenDestination, resolve
from c2r_common.notifications.models import (
    DeliveryRow,
    DeliveryStatus,
    NotificationModels,
    SubscriptionRow,
    SubscriptionStatus,
)
from c2r_common.notifications.schemas import SubscriptionIn
from c2r_common.notifications.secrets import new_secret, seal
from c2r_common.notifications.service_sender import is_service_owned, service_owned
from c2r_common.notifications.settings import NotifyingSettings
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, InvalidField, NotFound
from c2r_common.reference import country_by_iso3


async def check_webhook_url(url: str, settings: NotifyingSettings) -> None:
    try:
        await resolve(
            url,
            refuse_private=settings.refuses_private_urls,
            time_limit=settings.notify_webhook_timeout_seconds,
        )
    except ForbiddenDestination as exc:
        raise InvalidField("body.webhook_url", str(exc)) from None


def subscribed_countries(principal: Principal, asked: list[str] | None) -> list[str] | None:
    """The countries of the new subscription: those asked, each a real one the token may
    see (403 otherwise); none asked, the token's own (null: all)."""
    if asked is None:
        return sorted(principal.countries) if principal.countries is not None else None
    codes = []
    for index, code in enumerate(asked):
        country = country_by_iso3(code)
        if country is None:
            raise InvalidField(f"body.countries.{index}", f"no country with code {code.upper()}")
        principal.require_country(country.iso3)
        codes.append(country.iso3)
    return sorted(set(codes))


def check_event_types(asked: list[str], known: Collection[str]) -> list[str]:
    for index, event_type in enumerate(asked):
        if event_type not in known:
            raise InvalidField(
                f"body.event_types.{index}",
                f"{event_type} is not an event this service emits ({', '.join(sorted(known))})",
            )
    return sorted(set(asked))


async def create_subscription(
    db: AsyncSession,
    *,
    models: NotificationModels,
    principal: Principal,
    data: SubscriptionIn,
    event_types: Collection[str],
    settings: NotifyingSettings,
) -> tuple[SubscriptionRow, str | None]:
    """The new subscription and its webhook secret (None for e-mail), shown this once."""
    if data.webhook_url is not None:
        await check_webhook_url(data.webhook_url, settings)
    secret = new_secret() if data.webhook_url is not None else None
    subscription = models.subscription(
        owner=principal.subject,
        owner_countries=sorted(principal.countries) if principal.countries is not None else None,
        webhook_url=data.webhook_url,
        email=data.email,
        language=data.language,
        event_types=check_event_types(data.event_types, event_types),
        countries=subscribed_countries(principal, data.countries),
        digest=data.digest,
        secret=seal(secret, settings) if secret is not None else None,
        status=SubscriptionStatus.ACTIVE,
        consecutive_failures=0,
    )
    db.add(subscription)
    await db.flush()
    return subscription, secret


async def visible_subscription(
    db: AsyncSession,
    *,
    models: NotificationModels,
    principal: Principal,
    subscription_id: uuid.UUID,
) -> SubscriptionRow:
    subscription = await db.get(models.subscription, subscription_id)
    if subscription is None or not _sees(principal, subscription):
        raise NotFound(f"No subscription {subscription_id}.")
    return subscription


def _sees(principal: Principal, subscription: SubscriptionRow) -> bool:
    # A built-in subscription (a service's hand-off) is nobody's to see, change or delete.
    if is_service_owned(subscription):
        return False
    return subscription.owner == principal.subject or Scope.ADMIN in principal.scopes


async def list_subscriptions(
    db: AsyncSession, *, models: NotificationModels, principal: Principal, page: PageParams
) -> tuple[list[SubscriptionRow], str | None]:
    s = models.subscription
    statement = select(s).where(~service_owned(s))
    if Scope.ADMIN not in principal.scopes:
        statement = statement.where(s.owner == principal.subject)
    return await paginate(db, statement, (s.created_at, s.id), page)


async def set_paused(
    db: AsyncSession, subscription: SubscriptionRow, *, paused: bool
) -> SubscriptionRow:
    """Pauses or resumes; resuming forgets the failures, and the deliveries that waited go
    out from the next dispatcher pass."""
    subscription.status = SubscriptionStatus.PAUSED if paused else SubscriptionStatus.ACTIVE
    subscription.paused_reason = "paused by its owner" if paused else None
    if not paused:
        subscription.consecutive_failures = 0
    subscription.updated_at = utcnow()
    await db.flush()
    return subscription


async def rotate_secret(
    db: AsyncSession, subscription: SubscriptionRow, settings: NotifyingSettings
) -> str:
    """A new signing secret, used from the next delivery on; the old one stops at once."""
    if subscription.webhook_url is None:
        raise Conflict("An e-mail subscription has no signing secret.")
    secret = new_secret()
    subscription.secret = seal(secret, settings)
    subscription.updated_at = utcnow()
    await db.flush()
    return secret


async def delete_subscription(db: AsyncSession, subscription: SubscriptionRow) -> None:
    await db.delete(subscription)  # its deliveries go with it (ON DELETE CASCADE)
    await db.flush()


async def list_deliveries(
    db: AsyncSession, *, models: NotificationModels, subscription: SubscriptionRow, page: PageParams
) -> tuple[list[DeliveryRow], str | None]:
    d = models.delivery
    statement = select(d).where(d.subscription_id == subscription.id)
    return await paginate(db, statement, (d.id,), page)


_REDELIVERABLE = frozenset({DeliveryStatus.DEAD, DeliveryStatus.DELIVERED})


async def redeliver(
    db: AsyncSession,
    *,
    models: NotificationModels,
    subscription: SubscriptionRow,
    delivery_id: int,
    now: datetime | None = None,
) -> DeliveryRow:
    """Sends a delivery again from the next pass (a dead one, or a delivered one the
    receiver lost), with the same webhook-id; its maximum age counts from now."""
    d = models.delivery
    delivery = await db.scalar(
        select(d).where(d.id == delivery_id, d.subscription_id == subscription.id)
    )
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id} of subscription {subscription.id}.")
    if delivery.status not in _REDELIVERABLE:
        # A pending one may be leased to a sender right now: made due again, a second
        # dispatcher would send it while the first is mid-send.
        raise Conflict(
            f"Delivery {delivery_id} is {delivery.status}: only a dead or delivered one is "
            "sent again."
        )
    moment = now or utcnow()
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = moment
    delivery.age_from = moment
    delivery.delivered_at = None
    await db.flush()
    return delivery
