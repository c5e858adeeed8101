"""``xenocept keys rotate``: re-encrypt every stored secret (SMTP passwords, bot tokens of
OAuth installations) under the newest key. It works on the shared database, so with several
instances: give every instance the new key list first (newest first, old keys kept), then
rotate once from anywhere, then drop the old key from the list."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TypedDict

from bot import audit_service
from bot.app import build_secret_box
from bot.crypto import Sealed, SecretBox
from bot.destination_service import password_context
from bot.oauth import token_context
from bot.settings import Settings
from storage import destinations, installations
from storage.db import create_engine, session_factory, transaction
from storage.migrate import prepare
from storage.models import Owner

OPERATOR = "(operator)"  # who rotates keys: the person at the command line


async def rotate_keys(settings: Settings) -> int:
    """Returns how many secrets were re-encrypted. All or nothing: one transaction."""
    box = build_secret_box(settings)
    engine = create_engine(settings.resolved_database_url())
    try:
        await prepare(engine)
        rotated: Counter[tuple[str, str]] = Counter()
        now = datetime.now(UTC)
        async with transaction(session_factory(engine)) as db:
            for stored in await destinations.all_passwords_for_operator(db=db):
                context = password_context(stored.destination_id)
                sealed = Sealed(stored.key_id, stored.ciphertext)
                fresh = _resealed(box, sealed, context, stored.destination_name)
                if fresh is not None:
                    await destinations.reseal_for_operator(
                        db=db, destination_id=stored.destination_id, **fresh
                    )
                    rotated[(stored.enterprise_id, stored.team_id)] += 1
            for install in await installations.all_installations_for_operator(db=db):
                context = token_context(install.enterprise_id, install.team_id)
                sealed = Sealed(install.token_key_id, install.token_ciphertext)
                fresh = _resealed(box, sealed, context, f"the bot token of {install.team_id}")
                if fresh is not None:
                    await installations.reseal_for_operator(
                        db=db, installation_id=install.id, **fresh
                    )
                    rotated[(install.enterprise_id, install.team_id)] += 1
            for (enterprise_id, team_id), secrets in rotated.items():
                operator = Owner(team_id, OPERATOR, enterprise_id)
                await audit_service.record(db, operator, "key rotated", now, secrets=secrets)
        return sum(rotated.values())
    finally:
        await engine.dispose()


class _Resealed(TypedDict):
    key_id: str
    ciphertext: bytes


def _resealed(box: SecretBox, sealed: Sealed, context: str, label: str) -> _Resealed | None:
    """``sealed`` sealed again under the newest key; None when it already is."""
    if not box.needs_rotation(sealed):
        return None
    fresh = box.seal(box.open(sealed, context=context, label=label), context=context)
    return {"key_id": fresh.key_id, "ciphertext": fresh.ciphertext}
