"""Prometheus metrics of the notifications, labelled by the emitting service.

The gauges describe the service's database: every replica exports the same values, so
rules take their max over replicas, never their sum.
"""

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "c2r_notifications_deliveries_total",
    "Delivery attempts of notifications, by service, event type and outcome "
    "(delivered, retry, dead).",
    ["service", "event_type", "outcome"],
)
DELIVERY_LATENCY = Histogram(
    "c2r_notifications_delivery_duration_seconds",
    "Time a webhook receiver or SMTP server took to take one delivery, by channel.",
    ["service", "channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
BACKLOG = Gauge(
    "c2r_notifications_backlog",
    "Deliveries waiting to be sent to active subscriptions.",
    ["service"],
)
BACKLOG_OLDEST_AGE = Gauge(
    "c2r_notifications_backlog_oldest_age_seconds",
    "Age of the oldest delivery waiting to be sent to an active subscription (0: none).",
    ["service"],
)
DEAD = Gauge(
    "c2r_notifications_dead_deliveries",
    "Deliveries given up (too old or refused for good), waiting for a manual redelivery.",
    ["service"],
)
PAUSED = Gauge(
    "c2r_notifications_subscriptions_paused",
    "Subscriptions paused, by their owner or after failing deliveries.",
    ["service"],
)
AUTO_PAUSED = Counter(
    "c2r_notifications_subscriptions_auto_paused_total",
    "Subscriptions paused because their deliveries kept failing.",
    ["service"],
)
