"""Drafts between the shortcut and the modal submit, owner-scoped on every engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import drafts
from storage.db import SessionFactory, transaction
from storage.errors import NotFound
from storage.models import Owner

JANE = Owner("T1", "U0JANE")
BOB = Owner("T1", "U0BOB")


async def test_a_draft_is_its_owners_and_forgotten_later(database: SessionFactory) -> None:
    payload = '{"message": {"text": "h\\u00e9llo ' + "x" * 20_000 + '"}}'
    async with transaction(database) as db:
        draft = await drafts.create_draft(db=db, owner=JANE, payload_json=payload)
    async with transaction(database) as db:
        assert (
            await drafts.get_draft(db=db, owner=JANE, draft_id=draft.id)
        ).payload_json == payload
        with pytest.raises(NotFound):
            await drafts.get_draft(db=db, owner=BOB, draft_id=draft.id)
        await drafts.forget_drafts_before(db=db, moment=datetime.now(UTC) + timedelta(seconds=1))
    async with transaction(database) as db:
        with pytest.raises(NotFound):
            await drafts.get_draft(db=db, owner=JANE, draft_id=draft.id)
