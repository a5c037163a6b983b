"""E-mail notifications over SMTP: one event per mail, or a day's events in one digest;
plain text and HTML, in the subscriber's language (English and French, English otherwise)."""

import html
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from c2r_common.notifications.catalogue import EVENT_TYPES
from c2r_common.notifications.settings import NotifyingSettings, SmtpSecurity
from c2r_common.notifications.webhooks import SendResult

LANGUAGES = ("en", "fr")
_WORDS = {
    "en": {
        "digest": "Connect2Recover: {count} notifications",
        "intro": "What happened:",
        "footer": "You receive this because of your Connect2Recover subscription {id}.",
        "paused": "Connect2Recover: your subscription {id} was paused",
        "paused_body": "Deliveries to {target} failed {failures} times in a row, so the "
        "subscription was paused. Resume it once the receiver works again.",
    },
    "fr": {
        "digest": "Connect2Recover : {count} notifications",
        "intro": "Ce qui s'est passé :",
        "footer": "Vous recevez ce message en raison de votre abonnement Connect2Recover {id}.",
        "paused": "Connect2Recover : votre abonnement {id} a été suspendu",
        "paused_body": "Les envois vers {target} ont échoué {failures} fois de suite : "
        "l'abonnement a été suspendu. Reprenez-le quand le destinataire fonctionne.",
    },
}


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str  # the event's id (or the digest's): a Message-ID the receiver can dedupe


def words(language: str) -> dict[str, str]:
    return _WORDS.get(language, _WORDS["en"])


def event_title(event_type: str, data: dict[str, Any], language: str) -> str:
    model = EVENT_TYPES.get(event_type)
    if model is None:
        return event_type
    try:
        return model.model_validate(data).title(language)
    except ValueError:  # data of an older version of the type: its name still says enough
        return event_type


def _details(data: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in data.items():
        if isinstance(value, list):
            value = ", ".join(
                str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value
            )
        rows.append((key, "" if value is None else str(value)))
    return rows


def render(
    *,
    to: str,
    language: str,
    subscription_id: str,
    message_id: str,
    events: list[tuple[str, dict[str, Any]]],
) -> Mail:
    """One mail for `events` (type, data): a single event's title as its subject, else the
    digest's."""
    w = words(language)
    titles = [event_title(event_type, data, language) for event_type, data in events]
    subject = titles[0] if len(events) == 1 else w["digest"].format(count=len(events))
    text_parts = [w["intro"], ""]
    html_parts = [f"<p>{html.escape(w['intro'])}</p>"]
    for title, (_, data) in zip(titles, events, strict=True):
        details = _details(data)
        text_parts += [f"* {title}", *(f"    {k}: {v}" for k, v in details), ""]
        cells = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in details
        )
        html_parts.append(f"<h3>{html.escape(title)}</h3><table>{cells}</table>")
    footer = w["footer"].format(id=subscription_id)
    text_parts.append(footer)
    html_parts.append(f"<p><small>{html.escape(footer)}</small></p>")
    body_html = f'<html lang="{language}"><body>{"".join(html_parts)}</body></html>'
    return Mail(to, subject, "\n".join(text_parts), body_html, message_id)


def pause_notice(
    *, to: str, language: str, subscription_id: str, target: str, failures: int
) -> Mail:
    w = words(language)
    text = w["paused_body"].format(target=target, failures=failures)
    return Mail(
        to,
        w["paused"].format(id=subscription_id),
        text,
        f'<html lang="{language}"><body><p>{html.escape(text)}</p></body></html>',
        f"paused-{subscription_id}-{failures}",
    )


def _message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = f"<{mail.message_id}@c2r.itu.int>"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


async def send_mail(mail: Mail, settings: NotifyingSettings) -> SendResult:
    started = time.perf_counter()
    if settings.smtp_host is None:
        return SendResult(False, None, 0.0, "no SMTP server configured (smtp_host)")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            _message(mail, settings.smtp_sender),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security is SmtpSecurity.TLS,
            start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
            username=settings.smtp_username,
            password=password,
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        latency = (time.perf_counter() - started) * 1000
        return SendResult(False, None, latency, f"{type(exc).__name__}: {exc}"[:1000])
    return SendResult(True, 250, (time.perf_counter() - started) * 1000, None)
