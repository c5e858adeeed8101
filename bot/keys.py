"""``xenocept keys rotate``: re-encrypt every stored secret under the newest key."""

from __future__ import annotations

from bot.app import build_secret_box
from bot.crypto import Sealed
from bot.destinations import password_context
from bot.settings import Settings
from storage import destinations
from storage.db import create_engine, create_tables, session_factory, transaction


async def rotate_keys(settings: Settings) -> int:
    """Returns how many secrets were re-encrypted. All or nothing: one transaction."""
    box = build_secret_box(settings)
    engine = create_engine(settings.resolved_database_url())
    try:
        await create_tables(engine)
        count = 0
        async with transaction(session_factory(engine)) as session:
            for row in await destinations.all_destinations_for_operator(session=session):
                sealed = Sealed(row.secret_key_id, row.secret_ciphertext)
                if not box.needs_rotation(sealed):
                    continue
                context = password_context(row.id)
                fresh = box.seal(box.open(sealed, context=context, label=row.name),
                                 context=context)
                row.secret_key_id, row.secret_ciphertext = fresh.key_id, fresh.ciphertext
                session.add(row)
                count += 1
        return count
    finally:
        await engine.dispose()
