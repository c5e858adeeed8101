"""The one owner filter: every owner-facing query starts here, so no row of another
user (or workspace) can be read or changed by forgetting a condition."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, bindparam
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


# Queries that run before an ack are built once, at import, with the owner (and their own
# values) as bound parameters: building a statement costs more CPU than SQLite takes to
# answer it. Executed with ``params=owner_params(owner, ...)``.
OWNER_TEAM, OWNER_USER = "owner_team_id", "owner_user_id"


def belongs_to_param(model: Any) -> ColumnElement[bool]:
    """``belongs_to`` with the owner as bound parameters (see ``owner_params``)."""
    return and_(model.team_id == bindparam(OWNER_TEAM), model.user_id == bindparam(OWNER_USER))


def owned_shape(model: type[Row]) -> SelectOfScalar[Row]:
    """``owned`` with the owner as bound parameters: a statement to build once."""
    return select(model).where(belongs_to_param(model))


def owner_params(owner: Owner, **values: Any) -> dict[str, Any]:
    return {OWNER_TEAM: owner.team_id, OWNER_USER: owner.user_id, **values}
