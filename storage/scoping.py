"""The one owner filter: every owner-facing query starts here, so no row of another
user (or workspace) can be read or changed by forgetting a condition."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_
from sqlmodel import SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Owner

Row = TypeVar("Row", bound=SQLModel)


def belongs_to(model: Any, owner: Owner) -> ColumnElement[bool]:
    """The condition "this row is ``owner``'s" for a table with team_id and user_id."""
    return and_(model.team_id == owner.team_id, model.user_id == owner.user_id)


def owned(model: type[Row], owner: Owner) -> SelectOfScalar[Row]:
    """SELECT of ``owner``'s rows of ``model``; callers add their own conditions."""
    return select(model).where(belongs_to(model, owner))
