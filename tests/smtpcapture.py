"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 capturing parsed mails."""

from __future__ import annotations

import asyncio
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class MailCapture:
    """Messages received by the test SMTP server, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        # aiosmtpd runs this on its own thread's loop: only append here.
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            if loop.time() > deadline:
                raise AssertionError(f"expected {count} mails, got {len(self.messages)}")
            await asyncio.sleep(0.02)
        return self.messages


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (aiosmtpd 1.4 cannot bind port 0:
    its start-up probe connects to the port it was given)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_smtp(port: int | None = None, handler=None) -> tuple[Controller, MailCapture]:
    """A running aiosmtpd server on 127.0.0.1 with ``handler`` (default: a MailCapture)."""
    capture = MailCapture()
    controller = Controller(handler or capture, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    return controller, capture
