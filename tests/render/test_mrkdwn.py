"""Slack mrkdwn → HTML / plain text, table-driven."""

from __future__ import annotations

import re

import pytest

from bot.render.model import Directory
from bot.render.mrkdwn import escape, safe_href, to_html, to_plain, unescape

DIRECTORY = Directory(
    users={"U1": "Jane Doe", "W2": "Bob <Admin>"},
    channels={"C1": "incidents", "G2": "secret"},
    usergroups={"S1": "oncall"},
)


def bare(markup: str) -> str:
    """HTML without style attributes, so cases stay readable."""
    return re.sub(r' style="[^"]*"', "", markup)


# (mrkdwn as Slack sends it, expected HTML without styles, expected plain text)
CASES: list[tuple[str, str, str]] = [
    ("plain words", "plain words", "plain words"),
    ("*bold*", "<b>bold</b>", "bold"),
    ("_italic_", "<i>italic</i>", "italic"),
    ("~strike~", "<s>strike</s>", "~strike~"),
    ("a *b* _c_ ~d~", "a <b>b</b> <i>c</i> <s>d</s>", "a b c ~d~"),
    ("*bold _and italic_*", "<b>bold <i>and italic</i></b>", "bold and italic"),
    ("2*3*4 and * spaced *", "2*3*4 and * spaced *", "2*3*4 and * spaced *"),
    ("snake_case_name", "snake_case_name", "snake_case_name"),
    ("`x = *y*`", "<code>x = *y*</code>", "`x = *y*`"),
    ("`a &lt;b&gt;`", "<code>a &lt;b&gt;</code>", "`a <b>`"),
    (
        "before\n```\nif a &amp;&amp; *b*:\n    go()\n```\nafter",
        "before<pre>if a &amp;&amp; *b*:\n    go()</pre>after",
        "before\n```\nif a && *b*:\n    go()\n```\nafter",
    ),
    ("```<https://x.io|x.io> <@U1>```", "<pre>x.io @Jane Doe</pre>", "```\nx.io @Jane Doe\n```"),
    (
        "&gt; quoted *line*\n&gt; second\nafter",
        "<blockquote>quoted <b>line</b><br>second</blockquote>after",
        "> quoted line\n> second\nafter",
    ),
    ("&gt;&gt;&gt; all\nof it", "<blockquote>all<br>of it</blockquote>", "> all\n> of it"),
    (
        "list:\n• one\n• *two*\n    ◦ nested",
        "list:<ul><li>one</li><li><b>two</b></li><li>nested</li></ul>",
        "list:\n• one\n• two\n    • nested",
    ),
    ("- dash item", "<ul><li>dash item</li></ul>", "• dash item"),
    (
        "1. first\n2. second",
        '<ol><li value="1">first</li><li value="2">second</li></ol>',
        "1. first\n2. second",
    ),
    (
        "line one\nline two\n\nthree",
        "line one<br>line two<br><br>three",
        "line one\nline two\n\nthree",
    ),
    # links
    (
        "<https://example.com/a?b=1&amp;c=2|Example &amp; Co>",
        '<a href="https://example.com/a?b=1&amp;c=2">Example &amp; Co</a>',
        "Example & Co (https://example.com/a?b=1&c=2)",
    ),
    (
        "<https://example.com>",
        '<a href="https://example.com">https://example.com</a>',
        "https://example.com",
    ),
    ("<http://x.io|x>", '<a href="http://x.io">x</a>', "x (http://x.io)"),
    ("<mailto:a@b.io|a@b.io>", '<a href="mailto:a@b.io">a@b.io</a>', "a@b.io"),
    ("<mailto:a@b.io>", '<a href="mailto:a@b.io">a@b.io</a>', "a@b.io"),
    (
        "<javascript:alert(1)|click me>",
        "click me (javascript:alert(1))",
        "click me (javascript:alert(1))",
    ),
    ("<file:///etc/passwd>", "file:///etc/passwd", "file:///etc/passwd"),
    (
        '<https://x.io/"onmouseover="x|q>',
        '<a href="https://x.io/&quot;onmouseover=&quot;x">q</a>',
        'q (https://x.io/"onmouseover="x)',
    ),
    (
        "*see <https://a.io/x_y|docs_here>*",
        '<b>see <a href="https://a.io/x_y">docs_here</a></b>',
        "see docs_here (https://a.io/x_y)",
    ),
    # mentions
    ("hi <@U1>", "hi <span>@Jane Doe</span>", "hi @Jane Doe"),
    ("<@U1|old name>", "<span>@Jane Doe</span>", "@Jane Doe"),
    ("<@U404>", "<span>@U404</span>", "@U404"),
    ("<@U404|someone>", "<span>@someone</span>", "@someone"),
    ("<@W2>", "<span>@Bob &lt;Admin&gt;</span>", "@Bob <Admin>"),
    ("<#C1>", "<span>#incidents</span>", "#incidents"),
    ("<#C1|old>", "<span>#incidents</span>", "#incidents"),
    ("<#C404|general>", "<span>#general</span>", "#general"),
    ("<#C404>", "<span>#C404</span>", "#C404"),
    ("<!subteam^S1>", "<span>@oncall</span>", "@oncall"),
    ("<!subteam^S404|@devs>", "<span>@devs</span>", "@devs"),
    ("<!subteam^S404>", "<span>@S404</span>", "@S404"),
    (
        "<!here> <!channel> <!everyone>",
        "<span>@here</span> <span>@channel</span> <span>@everyone</span>",
        "@here @channel @everyone",
    ),
    ("<!here|@here>", "<span>@here</span>", "@here"),
    ("<!date^1392734382^{date_short}|Feb 18, 2014> ok", "Feb 18, 2014 ok", "Feb 18, 2014 ok"),
    # emoji
    (":smile: :+1: :white_check_mark:", "😄 👍 ✅", "😄 👍 ✅"),
    (":custom-party: stays", ":custom-party: stays", ":custom-party: stays"),
    (":wave::skin-tone-2:", "👋🏻", "👋🏻"),
    (":+1::skin-tone-6:", "👍🏿", "👍🏿"),
    (":v::skin-tone-4:", "✌🏽", "✌🏽"),
    (":custom::skin-tone-3:", ":custom::skin-tone-3:", ":custom::skin-tone-3:"),
    ("at 12:30:45", "at 12:30:45", "at 12:30:45"),
    ("_done :white_check_mark:_", "<i>done ✅</i>", "done ✅"),
    ("`:smile:`", "<code>:smile:</code>", "`:smile:`"),
    # escaping: Slack's entities are undone exactly once, then everything is escaped again
    (
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "<script>alert(1)</script>",
    ),
    ("&amp;lt;", "&amp;lt;", "&lt;"),
    (
        "&amp;amp; &amp; &quot;x&quot;",
        "&amp;amp; &amp; &amp;quot;x&amp;quot;",
        "&amp; & &quot;x&quot;",
    ),
    ("\"quotes\" & 'ticks'", "&quot;quotes&quot; &amp; &#x27;ticks&#x27;", "\"quotes\" & 'ticks'"),
    (
        "&lt;img src=x onerror=alert(1)&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "<img src=x onerror=alert(1)>",
    ),
]


@pytest.mark.parametrize(("text", "expected_html", "expected_plain"), CASES)
def test_to_html(text: str, expected_html: str, expected_plain: str) -> None:
    assert bare(to_html(text, DIRECTORY)) == expected_html


@pytest.mark.parametrize(("text", "expected_html", "expected_plain"), CASES)
def test_to_plain(text: str, expected_html: str, expected_plain: str) -> None:
    assert to_plain(text, DIRECTORY) == expected_plain


@pytest.mark.parametrize("text", [case[0] for case in CASES])
def test_nothing_from_slack_becomes_markup(text: str) -> None:
    tags = set(re.findall(r"</?([a-z]+)", to_html(text, DIRECTORY)))
    assert tags <= {"b", "i", "s", "code", "pre", "a", "span", "br", "blockquote", "ul", "ol", "li"}


def test_styles_are_inline() -> None:
    markup = to_html("`c` <@U1> <https://x.io|x>\n```p```", DIRECTORY)
    assert '<code style="' in markup
    assert '<span style="' in markup
    assert '<a href="https://x.io" style="' in markup
    assert '<pre style="' in markup


def test_nested_list_item_is_indented() -> None:
    markup = to_html("• a\n    ◦ b", DIRECTORY)
    assert '<li style="margin-left:20px">b</li>' in markup


def test_unknown_users_without_directory() -> None:
    empty = Directory(users={}, channels={}, usergroups={})
    assert to_plain("<@U1> in <#C1> to <!subteam^S1>", empty) == "@U1 in #C1 to @S1"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.io", "https://x.io"),
        ("HTTP://X.IO", "HTTP://X.IO"),
        ("mailto:a@b.io", "mailto:a@b.io"),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)", None),
        ("data:text/html,x", None),
        ("//x.io", None),
        ("https://x.io/a b", None),
        ("https://x.io/\nx", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_href(url: str | None, expected: str | None) -> None:
    assert safe_href(url) == expected


def test_escape_roundtrip() -> None:
    raw = "a & <b> &amp;"
    assert escape(raw) == "a &amp; &lt;b&gt; &amp;amp;"
    assert unescape(escape(raw)) == raw
