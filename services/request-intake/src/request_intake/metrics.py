"""Domain metrics of request-intake (HTTP metrics come from c2r_common)."""

from prometheus_client import Counter, Gauge

OVERDUE_REQUESTS = Gauge(
    "c2r_intake_overdue_requests",
    "Requests past the SLA due date of their current stage, by stage.",
    ["stage"],
)
OVERDUE_REVIEWS = Gauge(
    "c2r_intake_overdue_reviews",
    "Review assignments past their due date with no review submitted, on undecided requests.",
)
OUTBOX_ENTRIES = Gauge(
    "c2r_intake_outbox_entries",
    "Outbox entries by status: pending is the backlog, failed needs a person.",
    ["status"],
)
OUTBOX_OLDEST_PENDING_AGE = Gauge(
    "c2r_intake_outbox_oldest_pending_age_seconds",
    "Age of the oldest undelivered outbox entry (0 when the backlog is empty).",
)
OUTBOX_ATTEMPTS = Counter(
    "c2r_intake_outbox_delivery_attempts_total",
    "Outbox delivery attempts by outcome (delivered, retry, failed).",
    ["outcome"],
)
REQUESTS_SUBMITTED = Counter(
    "c2r_intake_requests_submitted_total",
    "Requests accepted, by whether they came inside the grace period.",
    ["late"],
)
