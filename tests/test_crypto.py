from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.crypto import SecretBox, load_keys, new_key, parse_key
from bot.errors import SecretKeyError, SettingsError


def box(*texts: str) -> SecretBox:
    return SecretBox([parse_key(text, source="test") for text in texts])


def test_seal_then_open_round_trips_and_hides_the_plaintext() -> None:
    secrets = box(new_key())
    sealed = secrets.seal("abcd-efgh-ijkl-mnop", context="destination:1")
    assert b"abcd-efgh" not in sealed.ciphertext
    assert sealed.key_id == secrets.current_key_id
    assert secrets.open(sealed, context="destination:1", label="iCloud") == "abcd-efgh-ijkl-mnop"


def test_a_ciphertext_copied_to_another_row_does_not_open() -> None:
    secrets = box(new_key())
    sealed = secrets.seal("abcd-efgh-ijkl-mnop", context="destination:1")
    with pytest.raises(SecretKeyError) as caught:
        secrets.open(sealed, context="destination:2", label="iCloud")
    assert "iCloud" in str(caught.value) and "abcd" not in str(caught.value)


def test_a_missing_key_is_a_clear_error_naming_the_destination() -> None:
    sealed = box(new_key()).seal("abcd-efgh-ijkl-mnop", context="d")
    with pytest.raises(SecretKeyError) as caught:
        box(new_key()).open(sealed, context="d", label="Work iCloud")
    assert caught.value.label == "Work iCloud"
    assert "not configured" in str(caught.value)


def test_older_keys_still_open_and_the_newest_seals() -> None:
    old, new = new_key(), new_key()
    sealed = box(old).seal("secret-one", context="d")
    rotated = box(new, old)
    assert rotated.open(sealed, context="d", label="x") == "secret-one"
    assert rotated.needs_rotation(sealed)
    assert not rotated.needs_rotation(rotated.seal("secret-two", context="d"))


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "xenocept.key"
    first = load_keys(configured=None, key_file=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keys(configured=None, key_file=path) == first


def test_comma_separated_keys_newest_first() -> None:
    a, b = new_key(), new_key()
    keys = load_keys(configured=f"{a}, {b}", key_file=Path("/nonexistent"))
    assert keys == [parse_key(a, source="x"), parse_key(b, source="x")]


@pytest.mark.parametrize("text", ["short", "!!!!", ""])
def test_malformed_keys_are_refused_in_one_sentence(text: str) -> None:
    with pytest.raises(SettingsError, match="xenocept keys new"):
        parse_key(text, source="XENOCEPT_SECRET_KEY")


def test_any_random_key_is_accepted_as_a_setting() -> None:
    from bot.settings import Settings

    key = "OQ8XxxxRozPU2jMdp8ZB3ZZNScF2SJvCAsaTX1cnOAE="  # once refused as a "placeholder"
    settings = Settings(XENOCEPT_SECRET_KEY=key)
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == key
