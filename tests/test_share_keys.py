"""Share keys: their text, what is kept of them, and what a request may present."""

from __future__ import annotations

import pytest

from bot.share_keys import bearer_key, new_share_key, parse_share_key, secret_matches


def test_a_key_is_matched_by_its_salted_hash_and_nothing_else() -> None:
    made = new_share_key()
    presented = parse_share_key(made.text)
    assert presented is not None and presented.key_id == made.key_id
    assert secret_matches(presented, salt=made.salt, secret_hash=made.secret_hash)
    other = new_share_key()
    assert not secret_matches(presented, salt=other.salt, secret_hash=other.secret_hash)
    assert made.text.split("_", 2)[2].encode() not in made.secret_hash + made.salt
    # Nothing secret in a repr (logs, tracebacks).
    assert made.text not in repr(made) and presented.secret not in repr(presented)


def test_two_keys_never_share_id_salt_or_secret() -> None:
    made = [new_share_key() for _ in range(50)]
    for part in ("key_id", "salt", "secret_hash", "text"):
        assert len({getattr(m, part) for m in made}) == 50


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Basic xsk_",
        "Bearer xoxb-1-2",
        f"Bearer xsk_{'g' * 32}_{'A' * 43}",
        f"Bearer xsk_{'0' * 32}_{'A' * 42}",
        f"Bearer xsk_{'0' * 32}_{'A' * 43}\r\nX: y",
    ],
)
def test_anything_but_a_well_formed_bearer_key_is_no_key(header: str | None) -> None:
    assert bearer_key(header) is None


def test_the_scheme_is_case_insensitive() -> None:
    made = new_share_key()
    assert bearer_key(f"bearer {made.text}") == parse_share_key(made.text)
