"""Sending one message to one channel: SMTP (smtplib) or an incoming webhook (JSON `{"text": ...}`).

Every failure comes back as one line (never raised): word not sent must never fail a run.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage

from pipelines.notify.message import Message, webhook_text
from pipelines.notify.settings import EMAIL, Channel
from pipelines.shown import one_line

TIMEOUT_SECONDS = 15


def send(channel: Channel, message: Message, ui_url: str) -> str:
    """`sent`, or one line saying why not."""
    try:
        if channel.kind == EMAIL:
            send_email(channel, message)
        else:
            post_webhook(channel.url, webhook_text(message, ui_url))
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        return f"not sent: {type(exc).__name__}: {one_line(exc)[:200]}"
    return "sent"


def send_email(channel: Channel, message: Message) -> None:
    email = EmailMessage()
    email["Subject"] = one_line(message.subject)  # EmailMessage also refuses a header with a line break
    email["From"] = channel.sender
    email["To"] = ", ".join(channel.to)
    email.set_content(message.text + "\n")
    with smtplib.SMTP(channel.host, channel.port, timeout=TIMEOUT_SECONDS) as smtp:
        if channel.starttls:
            smtp.starttls(context=ssl.create_default_context())
        smtp.send_message(email)


def post_webhook(url: str, text: str) -> None:
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        # The URL is the webhook's secret: say the status only.
        raise OSError(f"the webhook answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise OSError(f"the webhook could not be reached ({one_line(exc.reason)})") from None
