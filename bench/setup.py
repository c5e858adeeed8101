"""Databases the bot under test starts from: destinations already saved (and tested).

Destinations are saved through the product's own storage API and SecretBox, exactly as
the setup modal would leave them, so the bot decrypts real ciphertexts.
"""

from __future__ import annotations

from pathlib import Path

from bench import data
from bot.crypto import SecretBox, parse_key
from bot.destination_service import password_context
from storage import destinations
from storage.db import create_engine, create_tables, session_factory, transaction
from storage.models import DestinationFields, Owner, Security, new_id


def remove_database(path: Path) -> None:
    """A SQLite file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def prepare_database(
    database: Path | str, *, secret_key: str, users: list[str], smtp_port: int
) -> dict[str, str]:
    """Create the tables and one iCloud-like destination per user; returns user → id.
    ``database``: a SQLite file, or a database URL (PostgreSQL)."""
    engine = create_engine(database if isinstance(database, str) else sqlite_url(database))
    box = SecretBox([parse_key(secret_key, source="bench")])
    ids: dict[str, str] = {}
    try:
        await create_tables(engine)
        async with transaction(session_factory(engine)) as db:
            for user in users:
                destination_id = new_id()
                sealed = box.seal(data.SENDER_ASP, context=password_context(destination_id))
                await destinations.create_destination(
                    db=db,
                    owner=Owner(data.TEAM_ID, user),
                    fields=DestinationFields(
                        name="iCloud",
                        provider="icloud",
                        smtp_host="127.0.0.1",
                        smtp_port=smtp_port,
                        security=Security.STARTTLS,
                        username=data.SENDER_LOGIN,
                        from_address=data.SENDER_LOGIN,
                        to_addresses=data.RECIPIENT,
                    ),
                    destination_id=destination_id,
                    secret_key_id=sealed.key_id,
                    secret_ciphertext=sealed.ciphertext,
                )
                ids[user] = destination_id
    finally:
        await engine.dispose()
    return ids
