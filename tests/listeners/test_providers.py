"""Providers through signed HTTP requests: `/xenocept add PROVIDER`, the provider select
refilling the modal in place (views.update), local presets only where the operator allows
them, and a Gmail destination added and tested against a Gmail-like server."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from bot import ids
from bot.app import create_app
from bot.presets import PRESETS, offered
from bot.views.destination_modal import FormMetadata
from tests.conftest import SIGNING_SECRET, make_settings
from tests.support.harness import (
    ASP,
    JANE,
    Harness,
    form_values,
    loopback_resolver,
    running_app,
    start_server,
    trusting,
)
from tests.support.icloud_smtpd import Account, ICloudLikeServer
from tests.support.slack_requests import SlackRequests
from tests.support.slack_standin import SlackStandIn

GMAIL_LOGIN = "jane@gmail.com"
GMAIL_APP_PASSWORD = "abcd-efgh-ijkl-mnop"  # the server's; Google shows "abcd efgh ijkl mnop"


@pytest.fixture
async def strict(
    slack: SlackStandIn, icloud: ICloudLikeServer, ca: trustme.CA, tmp_path: Path
) -> AsyncIterator[Harness]:
    """The app with no local hosts allowed (the operator's default)."""
    no_local = make_settings(tmp_path, slack, XENOCEPT_SMTP_ALLOW_HOSTS="")
    async with running_app(no_local, ca) as (app, http):
        yield Harness(
            app=app,
            http=http,
            slack=slack,
            smtp=icloud,
            requests=SlackRequests(SIGNING_SECRET),
            database_path=tmp_path / "data" / "xenocept.db",
        )


@pytest.fixture
async def gmail(slack: SlackStandIn, ca: trustme.CA, tmp_path: Path) -> AsyncIterator[Harness]:
    """The app in front of a server answering as smtp.gmail.com."""
    account = Account(login=GMAIL_LOGIN, asp=GMAIL_APP_PASSWORD)
    async with ICloudLikeServer(
        ca=ca, accounts=[account], hostname="smtp.gmail.com", accept_asp_without_hyphens=True
    ) as server:
        app = create_app(
            make_settings(tmp_path, slack),
            resolver=loopback_resolver({"smtp.gmail.com": "127.0.0.1"}),
            tls_context=trusting(ca),
        )
        await app.start()
        http = start_server(app)
        await http.start_server()
        try:
            yield Harness(
                app=app,
                http=http,
                slack=slack,
                smtp=server,
                requests=SlackRequests(SIGNING_SECRET),
                database_path=tmp_path / "data" / "xenocept.db",
            )
        finally:
            await http.close()
            await app.stop()


async def open_form(harness: Harness, text: str = "add") -> dict[str, Any]:
    before = len(harness.slack.calls)
    assert await harness.command(text) == (200, "")
    return await harness.opened_view(ids.VIEW_DESTINATION_FORM, after=before)


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def initial(view: dict[str, Any], block: str) -> Any:
    element = inputs(view)[block]["element"]
    return (element.get("initial_option") or {}).get("value") or element.get("initial_value")


def options(view: dict[str, Any]) -> list[str]:
    return [o["value"] for o in inputs(view)[ids.BLOCK_PROVIDER]["element"]["options"]]


def typed_state(view: dict[str, Any], provider: str, **typed: Any) -> dict[str, Any]:
    """``view.state.values`` as Slack sends them with a block_actions from this view."""
    action_ids = {block: b["element"]["action_id"] for block, b in inputs(view).items()}
    state = {
        block: {action_ids[block]: element}
        for block, elements in form_values(**typed).items()
        for element in elements.values()
    }
    state[ids.BLOCK_PROVIDER] = {
        ids.ACTION_CHOOSE_PROVIDER: {
            "type": "static_select",
            "selected_option": {
                "text": {"type": "plain_text", "text": provider},
                "value": provider,
            },
        }
    }
    return state


async def choose(
    harness: Harness, view: dict[str, Any], provider: str, **typed: Any
) -> tuple[int, Any]:
    state = typed_state(view, provider, **typed)
    return await harness.action(
        harness.requests.block_actions(
            user_id=JANE,
            action_id=ids.ACTION_CHOOSE_PROVIDER,
            block_id=ids.BLOCK_PROVIDER,
            view={**view, "state": {"values": state}},
            selected_option_value=provider,
        )
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("add", "icloud"),
        ("add gmail", "gmail"),
        ("add Google", "gmail"),
        ("add hotmail", "outlook"),
        ("add outlook", "outlook"),
        ("add yahoo", "yahoo"),
        ("add fastmail", "fastmail"),
        ("add other", "other"),
        ("add proton", "proton"),
        ("add postfix", "postfix"),
    ],
)
async def test_add_opens_the_form_on_the_named_provider(
    harness: Harness, text: str, key: str
) -> None:
    view = await open_form(harness, text)
    preset = PRESETS[key]
    assert FormMetadata.load(view["private_metadata"]).preset == key
    assert initial(view, ids.BLOCK_PROVIDER) == key
    assert initial(view, ids.BLOCK_HOST) == (preset.host or None)
    assert initial(view, ids.BLOCK_PORT) == str(preset.port)
    assert initial(view, ids.BLOCK_SECURITY) == preset.security.value
    assert initial(view, ids.BLOCK_NAME) == preset.default_name


async def test_add_gmail_opens_the_gmail_form(harness: Harness) -> None:
    view = await open_form(harness, "add gmail")
    fields = inputs(view)
    assert initial(view, ids.BLOCK_HOST) == "smtp.gmail.com"
    assert initial(view, ids.BLOCK_PORT) == "587"
    assert initial(view, ids.BLOCK_SECURITY) == "starttls"
    assert "16-letter App Password" in fields[ids.BLOCK_PASSWORD]["hint"]["text"]
    assert fields[ids.BLOCK_PASSWORD]["label"]["text"] == "App Password"
    assert "Gmail or Google Workspace" in fields[ids.BLOCK_USERNAME]["hint"]["text"]


async def test_an_unknown_provider_gets_the_list_of_providers(harness: Harness) -> None:
    before = len(harness.slack.calls)
    status, body = await harness.command("add frobmail")
    assert status == 200 and "I don't know the provider `frobmail`" in body["text"]
    for preset in offered(local_allowed=True):
        assert f"/xenocept add {preset.key}` — {preset.label}" in str(body["blocks"])
    assert not harness.slack.calls_to("views.open")[before:]


async def test_microsoft_365_is_refused_plainly(harness: Harness) -> None:
    _, body = await harness.command("add office365")
    assert "*Microsoft 365 (work or school)* is not available here" in body["text"]
    assert "OAuth 2.0" in body["text"] and "app password" in body["text"]
    assert not harness.slack.calls_to("views.open")


async def test_local_presets_are_offered_when_the_operator_allows_loopback(
    harness: Harness,
) -> None:
    view = await open_form(harness)
    assert {"proton", "postfix"} <= set(options(view))
    assert "XENOCEPT_SMTP_ALLOW_HOSTS" not in str(view["blocks"])
    postfix = await open_form(harness, "add postfix")
    assert (
        initial(postfix, ids.BLOCK_HOST),
        initial(postfix, ids.BLOCK_PORT),
        initial(postfix, ids.BLOCK_SECURITY),
    ) == ("localhost", "25", "none")


async def test_local_presets_are_explained_not_offered_by_default(strict: Harness) -> None:
    view = await open_form(strict)
    assert "proton" not in options(view) and "postfix" not in options(view)
    note = str(view["blocks"])
    assert "*Proton Mail Bridge* and *Local Postfix relay*: not available here" in note
    assert "XENOCEPT_SMTP_ALLOW_HOSTS" in note
    for name in ("proton", "postfix"):
        _, body = await strict.command(f"add {name}")
        assert "is not available here" in body["text"]
        assert "XENOCEPT_SMTP_ALLOW_HOSTS" in body["text"]
    assert len(strict.slack.calls_to("views.open")) == 1  # only the plain `add`


async def test_choosing_a_provider_updates_the_modal_in_place_keeping_what_was_typed(
    harness: Harness,
) -> None:
    view = await open_form(harness)
    status, _ = await choose(
        harness,
        view,
        "gmail",
        name="iCloud",
        username="jane@example.com",
        from_address="me@example.com",
        to="team@example.com",
        screenshot="attached",
        password=ASP,
    )
    assert status == 200
    update = await harness.slack.wait_for("views.update")
    assert (update.params["view_id"], update.params["hash"]) == (view["id"], view["hash"])
    new = update.params["view"]
    assert (
        initial(new, ids.BLOCK_HOST),
        initial(new, ids.BLOCK_PORT),
        initial(new, ids.BLOCK_SECURITY),
    ) == ("smtp.gmail.com", "587", "starttls")
    assert initial(new, ids.BLOCK_NAME) == "Gmail"  # "iCloud" was only the default
    assert initial(new, ids.BLOCK_USERNAME) == "jane@example.com"
    assert initial(new, ids.BLOCK_FROM) == "me@example.com"
    assert initial(new, ids.BLOCK_TO) == "team@example.com"
    assert initial(new, ids.BLOCK_SCREENSHOT) == "attached"
    assert initial(new, ids.BLOCK_PROVIDER) == "gmail"
    assert "initial_value" not in inputs(new)[ids.BLOCK_PASSWORD]["element"]
    assert ASP not in str(update.params)  # the password is never put back into a view
    assert FormMetadata.load(new["private_metadata"]) == FormMetadata("gmail", None)
    # New action ids on the fields the provider dictates, so Slack shows the new defaults.
    for block in (ids.BLOCK_HOST, ids.BLOCK_PORT, ids.BLOCK_SECURITY, ids.BLOCK_PASSWORD):
        assert (
            inputs(new)[block]["element"]["action_id"]
            != inputs(view)[block]["element"]["action_id"]
        )
    assert harness.slack.views[view["id"]]["private_metadata"] == new["private_metadata"]


async def test_an_edited_name_survives_switching_twice(harness: Harness) -> None:
    view = await open_form(harness)
    await choose(harness, view, "fastmail", name="Work mail", username="jane@fastmail.com")
    first = await harness.slack.wait_for("views.update")
    assert initial(first.params["view"], ids.BLOCK_NAME) == "Work mail"
    assert (
        initial(first.params["view"], ids.BLOCK_PORT),
        initial(first.params["view"], ids.BLOCK_SECURITY),
    ) == ("465", "ssl")
    current = harness.slack.views[view["id"]]  # the updated view, with its new hash
    await choose(
        harness,
        current,
        "yahoo",
        name="Work mail",
        username="jane@fastmail.com",
        host="smtp.fastmail.com",
        port=465,
        security="ssl",
    )
    second = await harness.slack.wait_for(
        "views.update", lambda c: c.params["hash"] == current["hash"]
    )
    assert initial(second.params["view"], ids.BLOCK_HOST) == "smtp.mail.yahoo.com"
    assert initial(second.params["view"], ids.BLOCK_NAME) == "Work mail"
    assert initial(second.params["view"], ids.BLOCK_USERNAME) == "jane@fastmail.com"


async def test_choices_that_are_not_offered_change_nothing(strict: Harness) -> None:
    view = await open_form(strict)
    await choose(strict, view, "proton")  # hidden here: forged
    await choose(strict, view, "frobmail")
    editing = {**view, "private_metadata": FormMetadata("icloud", "d-someone").dump()}
    await choose(strict, editing, "yahoo")
    await choose(strict, view, "gmail")
    await strict.slack.wait_for("views.update")
    await asyncio.sleep(0.2)
    [update] = strict.slack.calls_to("views.update")
    assert initial(update.params["view"], ids.BLOCK_PROVIDER) == "gmail"


def provider_of(harness: Harness, name: str) -> str:
    with sqlite3.connect(harness.database_path) as connection:
        [(provider,)] = connection.execute(
            "select provider from destination where name = ?", (name,)
        ).fetchall()
    return str(provider)


async def test_a_gmail_destination_is_added_and_tested(gmail: Harness) -> None:
    view = await open_form(gmail, "add gmail")
    status, body = await gmail.submit(
        view,
        form_values(
            name="Gmail",
            host="smtp.gmail.com",
            port=gmail.smtp.submission_port,
            username=GMAIL_LOGIN,
            password="abcd efgh ijkl mnop",
            to=GMAIL_LOGIN,
        ),
    )
    assert (status, body) == (200, "")
    [mail] = await gmail.smtp.wait_for_messages(1)
    assert mail.login == GMAIL_LOGIN and mail.rcpt_tos == [GMAIL_LOGIN]
    await gmail.dm_update(lambda text: "works" in text)
    assert provider_of(gmail, "Gmail") == "gmail"


async def test_a_wrong_gmail_app_password_gets_googles_advice(gmail: Harness) -> None:
    view = await open_form(gmail, "add gmail")
    await gmail.submit(
        view,
        form_values(
            name="Gmail",
            host="smtp.gmail.com",
            port=gmail.smtp.submission_port,
            username=GMAIL_LOGIN,
            password="wxyz wxyz wxyz wxyz",
            to=GMAIL_LOGIN,
        ),
    )
    report = await gmail.dm_update(lambda text: "Test failed" in text)
    shown = str(report.params["blocks"])
    assert "myaccount.google.com/apppasswords" in shown and "2-Step Verification" in shown
    assert "wxyzwxyz" not in str(gmail.slack.calls)


async def test_a_gmail_password_of_the_wrong_shape_is_refused_inline(gmail: Harness) -> None:
    view = await open_form(gmail, "add gmail")
    _, body = await gmail.submit(
        view,
        form_values(
            name="Gmail",
            host="smtp.gmail.com",
            port=587,
            username=GMAIL_LOGIN,
            password="MyGooglePassword!",
            to=GMAIL_LOGIN,
        ),
    )
    assert body["response_action"] == "errors"
    assert body["errors"] == {ids.BLOCK_PASSWORD: PRESETS["gmail"].password.refusal}
    assert gmail.smtp.connections == 0
