"""Turn a queued delivery into the email to send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from bot.presets import SECURITY_NAMES, preset_for
from bot.render import DEFAULT_SIZE_LIMIT, build_sample_conversation, default_subject, render_email
from bot.render.explainers import explain_test_send
from bot.services import Services
from bot.views.messages import TEST_SUMMARY
from storage.models import Delivery, DestinationPublic

ICLOUD_SIZE_LIMIT = DEFAULT_SIZE_LIMIT  # what smtp.mail.me.com advertises in EHLO SIZE


@dataclass(frozen=True)
class Composed:
    message: EmailMessage
    data: bytes  # the message's bytes, as sent
    summary: str  # "Test session", "12 messages from #incidents"
    messages: int = 1  # how many Slack messages the email carries (the policy counts them)

    @property
    def size(self) -> int:
        return len(self.data)


class SessionComposer(Protocol):
    async def compose(
        self, delivery: Delivery, destination: DestinationPublic, *, size_limit: int
    ) -> Composed: ...

    def expect(self, deliveries: Sequence[Delivery]) -> None:
        """The order ``compose`` will be called in (it may read ahead)."""

    def forget(self, deliveries: Sequence[Delivery]) -> None:
        """Those deliveries are done or abandoned: drop anything read ahead for them."""


def size_budget(advertised: int | None) -> int:
    """The size an email must fit: the server's EHLO SIZE, at most iCloud's."""
    return min(advertised, ICLOUD_SIZE_LIMIT) if advertised else ICLOUD_SIZE_LIMIT


async def compose_test(
    services: Services,
    delivery: Delivery,
    destination: DestinationPublic,
    *,
    user_name: str,
    time_zone: str,
    size_limit: int = ICLOUD_SIZE_LIMIT,
) -> Composed:
    """The built-in sample session, through the same renderer as real sessions."""
    now = services.clock()
    preset = preset_for(destination.provider)
    conversation = build_sample_conversation(sent_at=now, time_zone=time_zone, user_name=user_name)
    rendered = render_email(
        conversation=conversation,
        note=None,
        subject=default_subject(conversation),
        sender=destination.from_address,
        recipients=destination.recipients,
        message_id=delivery.message_id,
        references=(),
        sent_at=now,
        screenshot_mode=destination.screenshot_mode,
        size_limit=size_limit,
        appendix=explain_test_send(
            name=destination.name,
            provider=preset.label,
            host=destination.smtp_host,
            port=destination.smtp_port,
            security=SECURITY_NAMES[destination.security],
            username=destination.username,
            sender=destination.from_address,
            recipients=destination.recipients,
            revoke_hint=preset.revoke_hint,
        ),
    )
    return Composed(message=rendered.message, data=rendered.data, summary=TEST_SUMMARY)
