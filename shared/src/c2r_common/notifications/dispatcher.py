"""Delivers the outbox: claims due deliveries, sends them, marks them, with retries.

Each delivery goes through three short transactions, so that no transaction is open
while a receiver answers (on SQLite that would hold the write lock):

1. claim: the row is locked (PostgreSQL `FOR UPDATE SKIP LOCKED`, so replicas claim
   different rows; SQLite: the write lock, c2r_common.db.claim_write_lock) and leased:
   `next_attempt_at` moves `notify_lease_seconds` ahead, so no other dispatcher takes it
   while it is being sent, and one that died mid-send has it sent again after the lease;
2. send, outside any transaction, with the event's id as webhook-id;
3. mark, in its own commit: delivered, or the next attempt after an exponential backoff
   with jitter, or dead once older than `notify_max_age_hours`.

So each (event, subscription) has one row (unique), sent until marked: at least once on
the wire, with a stable id the receiver dedupes on, exactly once past that dedupe.
Deliveries of one subject to one subscription go out in the order of the events: one
waits while an earlier one of its subject is still pending.

Built-in subscriptions of the platform's services (service_sender.py) go through the
ServiceSender registered for their owner: the same three steps, the sender's own backoff,
never paused for failures, and its hook run in the transaction of the mark. They have a
lane of their own (`Lane`): in the background, one loop passes over them and another over
the webhooks and mails, so that a hand-off never waits behind receivers that take up to
`notify_webhook_timeout_seconds` each; a subscription is in one lane only, so the claim,
lease, mark and order per subject above hold in each lane as they do in one.
"""

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import httpx
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from c2r_common.db import Database, claim_write_lock, utcnow
from c2r_common.notifications import mail, metrics
from c2r_common.notifications.events import Event, to_cloudevent
from c2r_common.notifications.models import (
    DeliveryRow,
    DeliveryStatus,
    EventRow,
    NotificationModels,
    SubscriptionRow,
    SubscriptionStatus,
)
from c2r_common.notifications.secrets import unseal
from c2r_common.notifications.service_sender import CHANNEL as SERVICE_CHANNEL
from c2r_common.notifications.service_sender import (
    RetryPolicy,
    ServiceSender,
    is_service_owned,
    service_owned,
)
from c2r_common.notifications.settings import NotifyingSettings
from c2r_common.notifications.webhooks import SendResult, send_webhook
from c2r_common.settings import Environment
from c2r_common.singleton import run_alone

logger = logging.getLogger("c2r.notifications")
Sessionmaker = async_sessionmaker[AsyncSession]


def retry_delay(attempts: int, base: float, cap: float, jitter: float) -> timedelta:
    """Exponential backoff bounded by `cap`; `jitter` in [0, 1] spreads the second half of
    the delay, so that a recovering receiver is not hit by every delivery at once."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=ceiling / 2 + ceiling / 2 * jitter)


class Lane(StrEnum):
    """The deliveries a pass takes. The background runs SERVICES and NOTIFICATIONS in loops
    of their own; ALL (both in one pass, in id order) is for tests and tools."""

    ALL = "all"
    SERVICES = "services"  # built-in subscriptions, through their ServiceSenders
    NOTIFICATIONS = "notifications"  # webhooks and mails of users' subscriptions


@dataclass
class PassReport:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    paused: list[uuid.UUID] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.dead


@dataclass(frozen=True)
class PauseNotice:
    """What the owner of a subscription just paused is told, read before the commit and
    sent after it: no transaction stays open while an SMTP server answers."""

    subscription_id: uuid.UUID
    owner: str
    email: str | None
    language: str
    target: str
    failures: int


@dataclass(frozen=True)
class ClaimedDigest:
    subscription_id: uuid.UUID
    email: str
    language: str
    delivery_ids: list[int]
    events: list[tuple[str, dict[str, object]]]
    event_types: list[str]


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempts: int
    event: Event
    subscription_id: uuid.UUID
    webhook_url: str | None
    email: str | None
    language: str
    secret: str | None
    service_owner: str | None = None  # a built-in subscription: its ServiceSender's key


class Dispatcher:
    def __init__(
        self,
        models: NotificationModels,
        settings: NotifyingSettings,
        service: str,
        client: httpx.AsyncClient | None = None,
        service_senders: Mapping[str, ServiceSender] | None = None,
    ) -> None:
        self.models = models
        self.settings = settings
        self.service = service
        self.client = client or httpx.AsyncClient(
            timeout=settings.notify_webhook_timeout_seconds, follow_redirects=False
        )
        # Keyed by the built-in subscriptions' owners (service_sender.service_owner).
        self.service_senders = dict(service_senders or {})

    async def aclose(self) -> None:
        await self.client.aclose()
        for sender in self.service_senders.values():
            await sender.aclose()

    def _sender_of(self, claimed: Claimed) -> ServiceSender | None:
        if claimed.service_owner is None:
            return None
        return self.service_senders[claimed.service_owner]

    # --- one pass ---------------------------------------------------------------------

    async def run_once(
        self, sessionmaker: Sessionmaker, now: datetime | None = None, lane: Lane = Lane.ALL
    ) -> PassReport:
        report = PassReport()
        moment = now or utcnow()
        async with sessionmaker() as session:
            due = await self.due_ids(session, moment, lane)

        def at() -> datetime:
            # A pass of slow sends outlasts a lease: each claim (its lease) and each mark
            # takes the time it is made, not the pass's start (a test's `now` stands still).
            return moment if now is not None else utcnow()

        for delivery_id in due:
            claimed = await self._claim(sessionmaker, delivery_id, at())
            if claimed is None:  # another dispatcher took it meanwhile
                continue
            result = await self._send(claimed)
            status = await self._mark(sessionmaker, claimed, result, at())
            self._count(report, claimed, status)
        await self.refresh_gauges(sessionmaker, moment, lane)
        return report

    def _in_lane(self, lane: Lane) -> ColumnElement[bool]:
        s = self.models.subscription
        users = or_(s.webhook_url.is_not(None), s.email.is_not(None))
        # A built-in subscription waits for a dispatcher that has its sender.
        built_in = and_(service_owned(s), s.owner.in_(list(self.service_senders)))
        if lane is Lane.SERVICES:
            return built_in
        if lane is Lane.NOTIFICATIONS:
            return users
        return or_(users, built_in)

    async def due_ids(
        self, session: AsyncSession, now: datetime, lane: Lane = Lane.ALL
    ) -> list[int]:
        d, s = self.models.delivery, self.models.subscription
        earlier = aliased(d)
        blocked = exists().where(
            earlier.subscription_id == d.subscription_id,
            earlier.subject == d.subject,
            earlier.status == DeliveryStatus.PENDING,
            earlier.id < d.id,
        )
        statement = (
            select(d.id)
            .join(s, s.id == d.subscription_id)
            .where(
                d.status == DeliveryStatus.PENDING,
                d.next_attempt_at <= now,
                s.status == SubscriptionStatus.ACTIVE,
                self._in_lane(lane),
                ~blocked,  # a subscription is in one lane: its earlier ones are too
            )
            .order_by(d.id)
            .limit(self.settings.notify_batch_size)
        )
        return list((await session.scalars(statement)).all())

    async def _claim(
        self, sessionmaker: Sessionmaker, delivery_id: int, now: datetime
    ) -> Claimed | None:
        d = self.models.delivery
        async with sessionmaker() as session:
            await claim_write_lock(session)
            delivery = await session.scalar(
                select(d)
                .where(
                    d.id == delivery_id,
                    d.status == DeliveryStatus.PENDING,
                    d.next_attempt_at <= now,
                )
                .with_for_update(skip_locked=True)
            )
            if delivery is None:
                await session.rollback()
                return None
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.next_attempt_at = now + timedelta(seconds=self.settings.notify_lease_seconds)
            event = await session.get(self.models.event, delivery.event_id)
            subscription = await session.get(self.models.subscription, delivery.subscription_id)
            assert event is not None
            assert subscription is not None
            claimed = self._claimed(delivery, event, subscription)
            await session.commit()
        return claimed

    def _claimed(
        self, delivery: DeliveryRow, event: EventRow, subscription: SubscriptionRow
    ) -> Claimed:
        secret = unseal(subscription.secret, self.settings) if subscription.secret else None
        return Claimed(
            delivery_id=delivery.id,
            attempts=delivery.attempts,
            event=event_of(event),
            subscription_id=subscription.id,
            webhook_url=subscription.webhook_url,
            email=subscription.email,
            language=subscription.language,
            secret=secret,
            service_owner=subscription.owner if is_service_owned(subscription) else None,
        )

    async def _send(self, claimed: Claimed) -> SendResult:
        event = claimed.event
        sender = self._sender_of(claimed)
        if sender is not None:
            result: SendResult = await sender.send(event)
            channel = SERVICE_CHANNEL
        elif claimed.webhook_url is not None and claimed.secret is not None:
            result = await send_webhook(
                self.client,
                claimed.webhook_url,
                secret=claimed.secret,
                message_id=str(event.id),
                body=to_cloudevent(event),
                refuse_private=self.settings.refuses_private_urls,
                time_limit=self.settings.notify_webhook_timeout_seconds,
            )
            channel = "webhook"
        else:
            assert claimed.email is not None  # a subscription has one or the other
            message = mail.render(
                to=claimed.email,
                language=claimed.language,
                subscription_id=str(claimed.subscription_id),
                message_id=str(event.id),
                events=[(event.type, event.data)],
            )
            result = await mail.send_mail(message, self.settings)
            channel = "email"
        metrics.DELIVERY_LATENCY.labels(self.service, channel).observe(result.latency_ms / 1000)
        return result

    async def _mark(
        self, sessionmaker: Sessionmaker, claimed: Claimed, result: SendResult, now: datetime
    ) -> str | None:
        """Marks the attempt; the delivery's status after it (None: deleted meanwhile)."""
        d = self.models.delivery
        notice: PauseNotice | None = None
        async with sessionmaker() as session:
            await claim_write_lock(session)
            delivery = await session.get(d, claimed.delivery_id, with_for_update=True)
            if delivery is None:  # its subscription was deleted meanwhile
                await session.rollback()
                return None
            delivery.last_status_code = result.status_code
            delivery.last_latency_ms = round(result.latency_ms, 3)
            delivery.last_error = result.error
            sender = self._sender_of(claimed)
            if result.ok:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = now
                if sender is not None:  # its effect commits with the mark, or neither does
                    await sender.on_delivered(session, claimed.event, result)
                await self._reset_failures(session, claimed.subscription_id)
            else:
                self._reschedule(delivery, result, now, sender)
                # A built-in subscription is never paused: the hand-off waits its receiver.
                paused = (
                    None if sender else await self._count_failure(session, claimed.subscription_id)
                )
                if paused is not None:
                    notice = _notice_of(paused)
            status = delivery.status
            await session.commit()
        if notice is not None:  # once paused for good, never for a rolled-back pause
            await self._tell_owner(notice)
        return status

    def _reschedule(
        self,
        delivery: DeliveryRow,
        result: SendResult,
        now: datetime,
        sender: ServiceSender | None = None,
    ) -> None:
        policy = self._retry_policy(sender)
        max_age = policy.max_age_hours
        too_old = max_age is not None and now - delivery.age_from > timedelta(hours=max_age)
        if result.permanent or too_old:
            delivery.status = DeliveryStatus.DEAD
            logger.error("notification delivery %s dead: %s", delivery.id, result.error)
            return
        delivery.next_attempt_at = now + retry_delay(
            delivery.attempts,
            policy.backoff_base_seconds,
            policy.backoff_max_seconds,
            random.random(),
        )
        if sender is not None:  # a hand-off that waits is worth a line in the log
            logger.warning("delivery %s not delivered yet: %s", delivery.id, result.error)

    def _retry_policy(self, sender: ServiceSender | None) -> RetryPolicy:
        if sender is not None and sender.retry is not None:
            return sender.retry
        return RetryPolicy(
            self.settings.notify_backoff_base_seconds,
            self.settings.notify_backoff_max_seconds,
            self.settings.notify_max_age_hours,
        )

    async def _reset_failures(self, session: AsyncSession, subscription_id: uuid.UUID) -> None:
        s = self.models.subscription
        await session.execute(
            update(s)
            .where(s.id == subscription_id, s.consecutive_failures != 0)
            .values(consecutive_failures=0)
        )

    async def _count_failure(
        self, session: AsyncSession, subscription_id: uuid.UUID
    ) -> SubscriptionRow | None:
        """Counts a failed attempt; the subscription if this one paused it."""
        s = self.models.subscription
        subscription = await session.get(s, subscription_id, with_for_update=True)
        if subscription is None:
            return None
        subscription.consecutive_failures += 1
        limit = self.settings.notify_pause_after_failures
        if (
            subscription.status != SubscriptionStatus.ACTIVE
            or subscription.consecutive_failures < limit
        ):
            return None
        subscription.status = SubscriptionStatus.PAUSED
        subscription.paused_reason = (
            f"{subscription.consecutive_failures} consecutive failed deliveries"
        )
        metrics.AUTO_PAUSED.labels(self.service).inc()
        return subscription

    async def _tell_owner(self, notice: PauseNotice) -> None:
        logger.warning(
            "notification subscription %s of %s paused after %d failed deliveries to %s",
            notice.subscription_id,
            notice.owner,
            notice.failures,
            notice.target,
        )
        if notice.email is None:
            return  # the log line and c2r_notifications_subscriptions_auto_paused_total
        message = mail.pause_notice(
            to=notice.email,
            language=notice.language,
            subscription_id=str(notice.subscription_id),
            target=notice.target,
            failures=notice.failures,
        )
        result = await mail.send_mail(message, self.settings)
        if not result.ok:
            logger.warning("pause notice to %s not sent: %s", notice.email, result.error)

    def _count(self, report: PassReport, claimed: Claimed, status: str | None) -> None:
        event_type = claimed.event.type
        if status == DeliveryStatus.DELIVERED:
            report.delivered += 1
            outcome = "delivered"
        elif status == DeliveryStatus.DEAD:  # refused for good, or past the maximum age
            report.dead += 1
            outcome = "dead"
        else:
            report.retried += 1
            outcome = "retry"
        sender = self._sender_of(claimed)
        if sender is None:
            metrics.DELIVERIES.labels(self.service, event_type, outcome).inc()
        elif status is not None:  # a hand-off is counted by its service's own metrics
            sender.observe(claimed.event, outcome)

    # --- gauges -----------------------------------------------------------------------

    async def refresh_gauges(
        self, sessionmaker: Sessionmaker, now: datetime, lane: Lane = Lane.ALL
    ) -> None:
        """The gauges of the lane's deliveries: the notifications', and each sender's own
        (`refresh_gauges` of the ServiceSender) for the built-in subscriptions."""
        if lane is not Lane.SERVICES:
            await self._refresh_notification_gauges(sessionmaker, now)
        if lane is not Lane.NOTIFICATIONS:
            for sender in self.service_senders.values():
                async with sessionmaker() as session:
                    await sender.refresh_gauges(session, now)

    async def _refresh_notification_gauges(self, sessionmaker: Sessionmaker, now: datetime) -> None:
        """Built-in subscriptions left out: a hand-off is not a notification, its service's
        own gauges and alerts describe it, so that an outage of the receiver is not also a
        notifications alert."""
        d, s = self.models.delivery, self.models.subscription
        notifications = (
            select(func.count(), func.min(d.created_at))
            .join(s, s.id == d.subscription_id)
            .where(~service_owned(s))
        )
        waiting = notifications.where(
            d.status == DeliveryStatus.PENDING, s.status == SubscriptionStatus.ACTIVE
        )
        async with sessionmaker() as session:
            count, oldest = (await session.execute(waiting)).one()
            dead, _ = (
                await session.execute(notifications.where(d.status == DeliveryStatus.DEAD))
            ).one()
            paused = await session.scalar(
                select(func.count()).select_from(s).where(s.status == SubscriptionStatus.PAUSED)
            )
        metrics.BACKLOG.labels(self.service).set(count)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        metrics.BACKLOG_OLDEST_AGE.labels(self.service).set(max(0.0, age))
        metrics.DEAD.labels(self.service).set(dead or 0)
        metrics.PAUSED.labels(self.service).set(paused or 0)

    # --- daily digests ----------------------------------------------------------------

    async def run_digests(self, sessionmaker: Sessionmaker, now: datetime | None = None) -> int:
        """Sends each digest subscriber its events waiting since its last digest, in one
        mail, once a day after `notify_digest_hour_utc`; how many mails were sent.

        Like a delivery, in three steps: the digests are claimed (leased) under a lock of
        their own, so that two replicas never send the same one; each mail is sent after
        that commit; and marked in its own commit, delivered, or retried after a backoff,
        or dead past `notify_max_age_hours`. A sender killed mid-send sends it again after
        the lease, with the same Message-ID."""
        moment = now or utcnow()
        if moment.hour < self.settings.notify_digest_hour_utc:
            return 0
        claimed = await run_alone(
            sessionmaker,
            f"{self.service}:notification-digests",
            lambda s: self._claim_digests(s, moment),
        )
        sent = 0
        for digest in claimed.result or []:
            message = mail.render(
                to=digest.email,
                language=digest.language,
                subscription_id=str(digest.subscription_id),
                message_id=f"digest-{digest.subscription_id}-{moment.date().isoformat()}",
                events=digest.events,
            )
            result = await mail.send_mail(message, self.settings)
            await self._mark_digest(
                sessionmaker, digest, result, utcnow() if now is None else moment
            )
            sent += 1 if result.ok else 0
        return sent

    async def _claim_digests(self, session: AsyncSession, now: datetime) -> list[ClaimedDigest]:
        s = self.models.subscription
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        subscribers = await session.scalars(
            select(s).where(
                s.digest.is_(True),
                s.email.is_not(None),
                s.status == SubscriptionStatus.ACTIVE,
                (s.last_digest_at.is_(None)) | (s.last_digest_at < day_start),
            )
        )
        claimed = []
        for subscription in list(subscribers):
            digest = await self._claim_digest_of(session, subscription, now)
            if digest is not None:
                claimed.append(digest)
        return claimed

    async def _claim_digest_of(
        self, session: AsyncSession, subscription: SubscriptionRow, now: datetime
    ) -> ClaimedDigest | None:
        d, e = self.models.delivery, self.models.event
        rows = (
            await session.execute(
                select(d, e)
                .join(e, e.id == d.event_id)
                .where(
                    d.subscription_id == subscription.id,
                    d.status == DeliveryStatus.DIGEST,
                    d.next_attempt_at <= now,  # not leased, nor waiting for its retry
                )
                .order_by(d.id)
            )
        ).all()
        if not rows or subscription.email is None:
            return None
        lease = now + timedelta(seconds=self.settings.notify_lease_seconds)
        for delivery, _ in rows:
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.next_attempt_at = lease
        return ClaimedDigest(
            subscription_id=subscription.id,
            email=subscription.email,
            language=subscription.language,
            delivery_ids=[delivery.id for delivery, _ in rows],
            events=[(event.type, event.data) for _, event in rows],
            event_types=[event.type for _, event in rows],
        )

    async def _mark_digest(
        self, sessionmaker: Sessionmaker, digest: ClaimedDigest, result: SendResult, now: datetime
    ) -> None:
        d, s = self.models.delivery, self.models.subscription
        max_age = timedelta(hours=self.settings.notify_max_age_hours)
        async with sessionmaker() as session:
            await claim_write_lock(session)
            deliveries = (
                await session.scalars(
                    select(d).where(d.id.in_(digest.delivery_ids)).with_for_update()
                )
            ).all()
            for delivery in deliveries:
                delivery.last_error = result.error
                if result.ok:
                    delivery.status = DeliveryStatus.DELIVERED
                    delivery.delivered_at = now
                elif now - delivery.age_from > max_age:
                    delivery.status = DeliveryStatus.DEAD
                    logger.error(
                        "notification digest delivery %s dead: %s", delivery.id, result.error
                    )
                else:
                    delivery.next_attempt_at = now + retry_delay(
                        delivery.attempts,
                        self.settings.notify_backoff_base_seconds,
                        self.settings.notify_backoff_max_seconds,
                        random.random(),
                    )
            if result.ok:
                await session.execute(
                    update(s).where(s.id == digest.subscription_id).values(last_digest_at=now)
                )
            await session.commit()
        outcome = "delivered" if result.ok else "retry"
        for event_type in digest.event_types:
            metrics.DELIVERIES.labels(self.service, event_type, outcome).inc()


def _notice_of(subscription: SubscriptionRow) -> PauseNotice:
    return PauseNotice(
        subscription_id=subscription.id,
        owner=subscription.owner,
        email=subscription.email,
        language=subscription.language,
        target=subscription.webhook_url or subscription.email or "",
        failures=subscription.consecutive_failures,
    )


def event_of(row: EventRow) -> Event:
    """The stored event, to send. Its `public` flag is not stored (who receives an event is
    settled when it is written, by `outbox.wants`): do not route a rebuilt event again."""
    return Event(
        id=row.id,
        type=row.type,
        source=row.source,
        subject=row.subject,
        time=row.time,
        country_iso3=row.country_iso3,
        data=row.data,
    )


async def _run_lane(dispatcher: Dispatcher, database: Database, lane: Lane) -> None:
    interval = dispatcher.settings.notify_relay_interval_seconds
    while True:
        try:
            report = await dispatcher.run_once(database.sessionmaker, lane=lane)
            if lane is Lane.NOTIFICATIONS:  # digests are mails: they may be slow too
                await dispatcher.run_digests(database.sessionmaker)
        except Exception:  # the loop must outlive a database hiccup or a broken receiver
            logger.exception("notification dispatch pass (%s) failed", lane)
            report = PassReport()
        # A full batch: more may be waiting, go on at once.
        if report.attempted < dispatcher.settings.notify_batch_size:
            await asyncio.sleep(interval)


async def dispatch_forever(dispatcher: Dispatcher, database: Database) -> None:
    """The dispatcher's background loops, until cancelled: the webhooks and mails in one,
    the built-in subscriptions (if it has senders) in another, each passing at its own
    pace, so that a hand-off is sent within one interval whatever the receivers of the
    notifications are doing."""
    lanes = [Lane.NOTIFICATIONS] + ([Lane.SERVICES] if dispatcher.service_senders else [])
    await asyncio.gather(*(_run_lane(dispatcher, database, lane) for lane in lanes))


@contextlib.asynccontextmanager
async def dispatching(
    database: Database,
    models: NotificationModels,
    settings: NotifyingSettings,
    service: str,
    service_senders: Mapping[str, ServiceSender] | None = None,
) -> AsyncIterator[Dispatcher]:
    """The dispatcher, running in the background for the app's lifetime; not under test
    (tests drive `run_once` themselves) nor with notify_relay_interval_seconds = 0."""
    dispatcher = Dispatcher(models, settings, service, service_senders=service_senders)
    task: asyncio.Task[None] | None = None
    if settings.environment is not Environment.TEST and settings.notify_relay_interval_seconds > 0:
        task = asyncio.create_task(dispatch_forever(dispatcher, database))
    try:
        yield dispatcher
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await dispatcher.aclose()
