"""The subscriptions API, mounted by each service that emits events under a prefix of its
own (the route table sends each prefix to one service)."""

import uuid
from collections.abc import Collection
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.fields import INT64_MAX
from c2r_common.notifications import subscriptions as service
from c2r_common.notifications.models import NotificationModels, SubscriptionRow
from c2r_common.notifications.schemas import (
    DeliveryOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)
from c2r_common.notifications.settings import NotifyingSettings
from c2r_common.pagination import Page, PageParams, page_params

Paging = Annotated[PageParams, Depends(page_params)]
# Bounded: PostgreSQL refuses to compare a bigint column with a larger number (a 500).
DeliveryId = Annotated[int, Path(ge=1, le=INT64_MAX)]


def _settings(request: Request) -> NotifyingSettings:
    settings = request.app.state.settings
    assert isinstance(settings, NotifyingSettings)
    return settings


SettingsDep = Annotated[NotifyingSettings, Depends(_settings)]


def subscriptions_router(
    *,
    models: NotificationModels,
    prefix: str,
    read_scope: Scope,
    event_types: Collection[str],
    tag: str = "notifications",
) -> APIRouter:
    """The routes of `prefix`: create, list, get, pause, resume, rotate the secret, delete,
    the delivery log and redelivery. A caller needs `read_scope` (who may read the events
    may receive them)."""
    router = APIRouter(prefix=prefix, tags=[tag], responses=problem_responses(401, 403))
    Subscriber = Annotated[Principal, Depends(require_scopes(read_scope))]

    async def owned(
        principal: Subscriber, subscription_id: uuid.UUID, db: SessionDep
    ) -> SubscriptionRow:
        return await service.visible_subscription(
            db, models=models, principal=principal, subscription_id=subscription_id
        )

    Owned = Annotated[SubscriptionRow, Depends(owned)]

    @router.post(
        "",
        response_model=SubscriptionCreated,
        status_code=201,
        summary="Subscribe a webhook or a mailbox to events; the signing secret is shown once",
        description="Webhooks are signed per Standard Webhooks with the returned secret. "
        "A token limited to countries subscribes to those only (403 for another).",
        responses=problem_responses(422),
    )
    async def create_subscription(
        principal: Subscriber, data: SubscriptionIn, db: SessionDep, settings: SettingsDep
    ) -> SubscriptionCreated:
        subscription, secret = await service.create_subscription(
            db,
            models=models,
            principal=principal,
            data=data,
            event_types=event_types,
            settings=settings,
        )
        out = SubscriptionOut.model_validate(subscription)
        return SubscriptionCreated(**out.model_dump(), secret=secret)

    @router.get(
        "",
        response_model=Page[SubscriptionOut],
        summary="The caller's subscriptions, oldest first",
        responses=problem_responses(422),
    )
    async def list_subscriptions(
        principal: Subscriber, db: SessionDep, page: Paging
    ) -> Page[SubscriptionOut]:
        rows, next_cursor = await service.list_subscriptions(
            db, models=models, principal=principal, page=page
        )
        return Page(
            items=[SubscriptionOut.model_validate(r) for r in rows], next_cursor=next_cursor
        )

    @router.get(
        "/{subscription_id}",
        response_model=SubscriptionOut,
        summary="One subscription",
        responses=problem_responses(404, 422),
    )
    async def get_subscription(subscription: Owned) -> SubscriptionOut:
        return SubscriptionOut.model_validate(subscription)

    @router.post(
        "/{subscription_id}/pause",
        response_model=SubscriptionOut,
        summary="Pause deliveries; events go on being kept for it",
        responses=problem_responses(404, 422),
    )
    async def pause_subscription(subscription: Owned, db: SessionDep) -> SubscriptionOut:
        return SubscriptionOut.model_validate(
            await service.set_paused(db, subscription, paused=True)
        )

    @router.post(
        "/{subscription_id}/resume",
        response_model=SubscriptionOut,
        summary="Resume deliveries (also of one paused after failures); what waited goes out",
        responses=problem_responses(404, 422),
    )
    async def resume_subscription(subscription: Owned, db: SessionDep) -> SubscriptionOut:
        return SubscriptionOut.model_validate(
            await service.set_paused(db, subscription, paused=False)
        )

    @router.post(
        "/{subscription_id}/rotate-secret",
        response_model=SubscriptionCreated,
        summary="Replace the webhook signing secret; the new one is shown once",
        responses=problem_responses(404, 409, 422),
    )
    async def rotate_subscription_secret(
        subscription: Owned, db: SessionDep, settings: SettingsDep
    ) -> SubscriptionCreated:
        secret = await service.rotate_secret(db, subscription, settings)
        out = SubscriptionOut.model_validate(subscription)
        return SubscriptionCreated(**out.model_dump(), secret=secret)

    @router.delete(
        "/{subscription_id}",
        status_code=204,
        summary="Delete a subscription and its delivery log",
        responses=problem_responses(404, 422),
    )
    async def delete_subscription(subscription: Owned, db: SessionDep) -> Response:
        await service.delete_subscription(db, subscription)
        return Response(status_code=204)

    @router.get(
        "/{subscription_id}/deliveries",
        response_model=Page[DeliveryOut],
        summary="The subscription's delivery log: attempts, status, latency, last error",
        responses=problem_responses(404, 422),
    )
    async def list_deliveries(
        subscription: Owned, db: SessionDep, page: Paging
    ) -> Page[DeliveryOut]:
        rows, next_cursor = await service.list_deliveries(
            db, models=models, subscription=subscription, page=page
        )
        return Page(items=[DeliveryOut.model_validate(r) for r in rows], next_cursor=next_cursor)

    @router.post(
        "/{subscription_id}/deliveries/{delivery_id}/redeliver",
        response_model=DeliveryOut,
        summary="Send a delivery again (dead, or lost by the receiver), same webhook-id",
        responses=problem_responses(404, 409, 422),
    )
    async def redeliver(
        subscription: Owned, delivery_id: DeliveryId, db: SessionDep
    ) -> DeliveryOut:
        delivery = await service.redeliver(
            db, models=models, subscription=subscription, delivery_id=delivery_id
        )
        return DeliveryOut.model_validate(delivery)

    return router
