"""Real receivers on 127.0.0.1 for the notification tests: an SMTP server (aiosmtpd) and a webhook
endpoint (http.server), each keeping what it received."""

from __future__ import annotations

import contextlib
import email
import email.policy
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mailbox:
    port: int = 0
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@contextlib.contextmanager
def smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(port=free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@dataclass
class Hook:
    port: int = 0
    bodies: list[dict] = field(default_factory=list)
    status: int = 200


@contextlib.contextmanager
def webhook_receiver(status: int = 200) -> Iterator[Hook]:
    hook = Hook(status=status)

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            hook.bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(hook.status)
            self.end_headers()

        def log_message(self, *args) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_settings(root, mailbox: Mailbox | None, hook: Hook | None, extra: str = "") -> None:
    parts = []
    if mailbox is not None:
        parts.append(
            f'[[channel]]\nkind = "email"\nhost = "127.0.0.1"\nport = {mailbox.port}\n'
            'sender = "csc-returns@example.org"\nto = ["stewards@example.org"]\n'
        )
    if hook is not None:
        parts.append(f'[[channel]]\nkind = "webhook"\nurl = "http://127.0.0.1:{hook.port}/hook/SECRET"\n')
    (root / "notify.toml").write_text("\n".join(parts) + extra, encoding="utf-8")
