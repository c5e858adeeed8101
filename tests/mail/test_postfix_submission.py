"""Against a real Postfix submission service with Dovecot SASL: what users are told.

Each test drives the real app (signed requests, the Slack stand-in) to a destination on the
Postfix of ``tests/support/postfix.py`` and asserts on what the user reads in Slack, the row
stored and the mail that landed in the Maildir.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from bot import ids
from tests.conftest import SIGNING_SECRET, make_settings
from tests.support.harness import JANE, Harness, form_values, running_app
from tests.support.icloud_smtpd import ICloudLikeServer
from tests.support.postfix import DOMAIN, MailUser, PostfixServer, binaries_missing, postfix_server
from tests.support.send_flow import outcome, rows, send
from tests.support.slack_requests import SlackRequests
from tests.support.slack_standin import SlackStandIn

ALICE = MailUser(f"alice@{DOMAIN}", "alice-Secret-42", senders=(f"team@{DOMAIN}",))
BOB_BOX = MailUser(f"bob@{DOMAIN}", "bob-Secret-42")
CAROL_BOX = MailUser(f"carol@{DOMAIN}", "carol-Secret-42")
USERS = [ALICE, BOB_BOX, CAROL_BOX]


def _skip_or_fail() -> None:
    reason = binaries_missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run these tests)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def postfix(ca: trustme.CA) -> Iterator[PostfixServer]:
    _skip_or_fail()
    with postfix_server(ca, USERS) as server:
        yield server


@pytest.fixture
async def app(
    tmp_path: Path, slack: SlackStandIn, icloud: ICloudLikeServer, ca: trustme.CA
) -> AsyncIterator[Harness]:
    # A short SMTP timeout: the silent-port test waits for it.
    settings = make_settings(tmp_path, slack, XENOCEPT_SMTP_TIMEOUT=3)
    async with running_app(settings, ca) as (bot, http):
        yield Harness(
            app=bot,
            http=http,
            slack=slack,
            smtp=icloud,
            requests=SlackRequests(SIGNING_SECRET),
            database_path=tmp_path / "data" / "xenocept.db",
        )


async def add_postfix_destination(harness: Harness, port: int, **values: Any) -> str:
    """``/xenocept add other`` → the form → saved; returns the DM text of its test send."""
    before = len(harness.slack.calls)
    assert await harness.command("add other") == (200, "")
    view = await harness.opened_view(ids.VIEW_DESTINATION_FORM, after=before)
    fields: dict[str, Any] = {
        "name": "Postfix",
        "host": "127.0.0.1",
        "port": port,
        "security": "starttls",
        "username": ALICE.login,
        "password": ALICE.password,
        "from_address": ALICE.login,
        "to": BOB_BOX.login,
        **values,
    }
    before = len(harness.slack.calls)
    status, body = await harness.submit(view, form_values(**fields))
    assert (status, body) == (200, ""), body
    call = await harness.slack.wait_for(
        "chat.update",
        lambda c: (
            c.params["channel"] == "D" + JANE
            and any(c is later for later in harness.slack.calls[before:])
        ),
    )
    return str(call.params["text"]) + "\n" + str(call.params["blocks"])


def last_test(harness: Harness) -> tuple[Any, ...]:
    [row] = rows(harness, "select last_test_ok, last_test_summary from destination")
    return tuple(row)


async def test_a_partly_refused_send_says_who_got_it_and_who_did_not(
    app: Harness,
    postfix: PostfixServer,
) -> None:
    nobody = f"nobody@{DOMAIN}"
    text = await add_postfix_destination(
        app, postfix.submission_port, to=f"{BOB_BOX.login}, {nobody}"
    )
    assert not text.startswith("✅"), text
    assert text.startswith("⚠️")
    assert f"delivered to {BOB_BOX.login}" in text
    assert f"{nobody} was refused: 550 5.1.1" in text
    assert "check that address" in text
    ok, summary = last_test(app)
    assert ok == 0 and f"{nobody} was refused: 550" in summary
    [arrived] = postfix.wait_for_mail(BOB_BOX.login)
    assert arrived["To"] == f"{BOB_BOX.login}, {nobody}"
    [(history_error,)] = rows(app, "select last_error from delivery")
    assert f"{nobody} was refused" in history_error


async def test_the_bot_greets_with_a_fully_qualified_name_and_logs_in_once(
    app: Harness,
    postfix: PostfixServer,
) -> None:
    text = await add_postfix_destination(app, postfix.submission_port)
    assert text.startswith("✅"), text
    assert postfix.wait_for_mail(BOB_BOX.login)
    assert "Helo command rejected" not in postfix.log()


async def test_security_none_where_starttls_is_required_advises_starttls(
    app: Harness,
    postfix: PostfixServer,
) -> None:
    text = await add_postfix_destination(app, postfix.submission_port, security="none")
    assert "530 5.7.0 Must issue a STARTTLS command first" in text
    assert "Securing the connection (TLS) failed" in text
    assert "set Security to STARTTLS" in text
    assert "Sender (From)" not in text


async def test_a_sender_the_login_does_not_own_is_a_from_problem(
    app: Harness,
    postfix: PostfixServer,
) -> None:
    text = await add_postfix_destination(
        app, postfix.submission_port, from_address=f"carol@{DOMAIN}"
    )
    assert "553 5.7.1" in text and "not owned by user" in text
    assert "Sender (From) failed" in text
    assert "set From to an address your account owns" in text
    assert "To addresses" not in text and "Recipients (To)" not in text


async def test_relay_denial_on_a_test_says_what_it_means_and_promises_no_retry(
    app: Harness,
    postfix: PostfixServer,
) -> None:
    text = await add_postfix_destination(
        app, postfix.submission_port, to="someone@elsewhere.example"
    )
    assert "454 4.7.1" in text and "Relay access denied" in text
    assert "does not accept mail from this account for that recipient" in text
    assert "will be retried" not in text


async def test_starttls_on_a_port_that_expects_tls_at_once_suggests_ssl_tls(
    app: Harness,
    postfix: PostfixServer,
) -> None:
    text = await add_postfix_destination(app, postfix.implicit_tls_port)
    assert "Connecting failed" in text
    assert "set Security to SSL/TLS" in text
    assert "Could not reach" not in text


async def test_ssl_tls_on_the_implicit_tls_port_works(
    app: Harness,
    postfix: PostfixServer,
) -> None:
    text = await add_postfix_destination(app, postfix.implicit_tls_port, security="ssl")
    assert text.startswith("✅"), text


def auth_failures(server: PostfixServer) -> int:
    return server.log().count("authentication failed")


async def test_a_wrong_password_is_tried_once(app: Harness, ca: trustme.CA) -> None:
    _skip_or_fail()
    with postfix_server(ca, USERS) as fresh:  # its own: Dovecot slows later logins down
        text = await add_postfix_destination(app, fresh.submission_port, password="wrong-password")
        assert "535 5.7.8" in text and "Logging in failed" in text
        assert "no way to log in" not in text
        assert auth_failures(fresh) == 1, fresh.log()


async def test_an_email_over_the_servers_size_is_fitted_to_it(
    app: Harness,
    ca: trustme.CA,
) -> None:
    _skip_or_fail()
    with postfix_server(ca, USERS, size_limit=60_000) as small:
        assert (await add_postfix_destination(app, small.submission_port)).startswith("✅")
        small.wait_for_mail(BOB_BOX.login)
        big = os.urandom(120_000)
        file = app.slack.add_file(
            "F0BIG", "capture.bin", big, "application/octet-stream", user=JANE
        )
        message = {
            "type": "message",
            "user": JANE,
            "ts": "1700000000.000100",
            "text": "the capture",
            "files": [file],
        }
        app.slack.add_channel("C0QA", name="qa")
        app.slack.add_thread("C0QA", [message])
        delivery = await send(app, message, channel_id="C0QA", channel_name="qa", scope="message")
        final = await outcome(app, delivery)
        assert str(final.params["text"]).startswith("✅"), final.params["text"]
        [_, arrived] = small.wait_for_mail(BOB_BOX.login, 2)
        assert len(arrived.as_bytes()) < 60_000
        assert "capture.bin" in str(arrived.get_body(("plain",)))
        assert not [part for part in arrived.walk() if part.get_filename() == "capture.bin"]
