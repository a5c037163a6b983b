"""Events of the requests and calls (submitted, status changed, information requested, SLA
due soon / overdue, call opened / closing / closed) written to the outbox of
c2r_common.notifications, and the subscriptions to them under /v1/requests/subscriptions
(the route table already sends /v1/requests here)."""
