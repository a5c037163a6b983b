"""Notifications: events written to an outbox in the transaction that causes them, and a
dispatcher that delivers them to subscribers' signed webhooks and mailboxes.

A service adopts them in four steps (see the README's notifications section):
`notification_models(Base)` in its models registry and a migration of the three tables,
`NotifyingSettings` as its settings base, `subscriptions_router(...)` under a prefix of
its own, and `dispatching(...)` in its lifespan; then it calls `emit(session, event)`.
"""
