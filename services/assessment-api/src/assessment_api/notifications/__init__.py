"""Events of the assessments (completed, accepted by the country, published, translated)
written to the outbox of c2r_common.notifications in the transaction of the change, and
the subscriptions to them under /v1/assessments/subscriptions (the route table already
sends /v1/assessments here)."""
