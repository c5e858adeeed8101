"""Slack mrkdwn → HTML and → plain text.

Pipeline: split off ``` code blocks, classify the remaining lines (quote, bullet,
numbered, paragraph), tokenize each line into inline nodes, then render the nodes.
Slack's entities (&amp; &lt; &gt;) are unescaped exactly once while tokenizing;
every piece of text is HTML-escaped again on output, so nothing from Slack ever
becomes markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import emoji

from bot.render.model import Directory

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_STYLE = "color:#1264a3;text-decoration:underline"
MENTION_STYLE = "color:#1264a3;background:#e8f5fa;border-radius:3px;padding:0 2px"
CODE_STYLE = (
    "font-family:Menlo,Consolas,'Courier New',monospace;font-size:12px;color:#c01343;"
    "background:#f6f6f6;border:1px solid #e1e1e1;border-radius:3px;padding:1px 3px"
)
PRE_STYLE = (
    "font-family:Menlo,Consolas,'Courier New',monospace;font-size:12px;line-height:1.5;"
    "background:#f8f8f8;border:1px solid #e1e1e1;border-radius:4px;padding:8px;margin:4px 0;"
    "white-space:pre-wrap;word-wrap:break-word"
)
QUOTE_STYLE = "margin:4px 0;padding:0 0 0 10px;border-left:4px solid #dddddd;color:#454245"
LIST_STYLE = "margin:4px 0;padding-left:24px"

_ENTITY_RE = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_UNSAFE_URL_CHAR_RE = re.compile(r"[\x00-\x20\x7f]")  # controls and spaces
_ANGLE_OR_ENTITY_RE = re.compile(r"<([^<>\n]+)>|&(amp|lt|gt);")
_CODE_BLOCK_RE = re.compile(r"```(.*?)```", re.DOTALL)
_QUOTE_ALL_RE = re.compile(r"^&gt;&gt;&gt;[ \t]?(.*)$")
_QUOTE_RE = re.compile(r"^&gt;[ \t]?(.*)$")
_BULLET_RE = re.compile(r"^([ \t]*)[•◦▪▫‣-][ \t]+(.*)$")
_NUMBER_RE = re.compile(r"^([ \t]*)(\d{1,9})[.)][ \t]+(.*)$")
_SPECIAL = {"here", "channel", "everyone"}
_SKIN_TONE_BASE = 0x1F3FB  # Slack :skin-tone-2: .. :skin-tone-6: -> U+1F3FB .. U+1F3FF


def _styled(marker: str, name: str) -> str:
    m = re.escape(marker)
    body = rf"(?:<[^<>\n]*>|:[a-z0-9_+'-]+:|[^{m}\n<])+?"
    return rf"(?<![\w{m}]){m}(?!\s)(?P<{name}>{body})(?<!\s){m}(?![\w{m}])"


_INLINE_RE = re.compile(
    "|".join(
        (
            r"<(?P<angle>[^<>\n]+)>",
            r"`(?P<code>[^`\n]+)`",
            _styled("*", "b"),
            _styled("_", "i"),
            _styled("~", "s"),
            r":(?P<emoji>[a-z0-9_+'-]+):(?::skin-tone-(?P<tone>[2-6]):)?",
        )
    )
)


# ---------------------------------------------------------------- small helpers


def unescape(text: str) -> str:
    """Undo Slack's escaping (&amp; &lt; &gt;) exactly once."""
    return _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(1)], text)


def escape(text: str) -> str:
    """Escape text the way Slack does, so it can be fed back in as mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_href(url: str | None) -> str | None:
    """The URL when it may become a link (http, https, mailto), else None."""
    if not url or _UNSAFE_URL_CHAR_RE.search(url):
        return None
    match = _SCHEME_RE.match(url)
    if match is None or match.group(1).lower() not in SAFE_SCHEMES:
        return None
    return url


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


# ---------------------------------------------------------------- inline nodes


@dataclass(frozen=True)
class _Text:
    value: str


@dataclass(frozen=True)
class _Code:
    value: str


@dataclass(frozen=True)
class _Link:
    url: str
    label: str


@dataclass(frozen=True)
class _Mention:
    value: str


@dataclass(frozen=True)
class _Styled:
    tag: str  # "b", "i" or "s"
    children: tuple[_Node, ...]


_Node = _Text | _Code | _Link | _Mention | _Styled


def _user(target: str, label: str, d: Directory) -> _Node:
    return _Mention("@" + (d.users.get(target) or unescape(label).lstrip("@") or target))


def _channel(target: str, label: str, d: Directory) -> _Node:
    return _Mention("#" + (d.channels.get(target) or unescape(label).lstrip("#") or target))


def _special(target: str, label: str, d: Directory) -> _Node:
    name, _, arg = target.partition("^")
    if name == "subteam":
        return _Mention("@" + (d.usergroups.get(arg) or unescape(label).lstrip("@") or arg))
    if name in _SPECIAL:
        return _Mention("@" + name)
    if name == "date":
        return _Text(unescape(label) if label else arg.partition("^")[0])
    return _Text(unescape(label) if label else "@" + name)


def _angle(inner: str, d: Directory) -> _Node:
    target, _, label = inner.partition("|")
    kinds = {"@": _user, "#": _channel, "!": _special}
    if target[:1] in kinds:
        return kinds[target[:1]](target[1:], label, d)
    url = unescape(target)
    return _Link(url, unescape(label) if label else url.removeprefix("mailto:"))


def _emoji(name: str, tone: str | None, original: str) -> _Node:
    char = emoji.emojize(f":{name}:", language="alias")
    if char == f":{name}:":
        return _Text(original)
    if tone:
        char = char.rstrip("\ufe0f") + chr(_SKIN_TONE_BASE + int(tone) - 2)
    return _Text(char)


def _token(match: re.Match[str], d: Directory) -> _Node:
    groups = match.groupdict()
    if groups["angle"] is not None:
        return _angle(groups["angle"], d)
    if groups["code"] is not None:
        return _Code(_code_text(groups["code"], d))
    for tag in ("b", "i", "s"):
        if groups[tag] is not None:
            return _Styled(tag, tuple(_parse_inline(groups[tag], d)))
    return _emoji(groups["emoji"], groups["tone"], match.group(0))


def _parse_inline(text: str, d: Directory) -> Iterator[_Node]:
    pos = 0
    for match in _INLINE_RE.finditer(text):
        if match.start() > pos:
            yield _Text(unescape(text[pos : match.start()]))
        yield _token(match, d)
        pos = match.end()
    if pos < len(text):
        yield _Text(unescape(text[pos:]))


def _code_text(raw: str, d: Directory) -> str:
    """Code content: entities unescaped once, <…> entities shown as their text, nothing else."""

    def flat(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return _ENTITIES[match.group(2)]
        node = _angle(match.group(1), d)
        return node.label if isinstance(node, _Link) else _plain_node(node)

    return _ANGLE_OR_ENTITY_RE.sub(flat, raw)


# ---------------------------------------------------------------- inline rendering


def _link_html(node: _Link) -> str:
    href = safe_href(node.url)
    if href is None:
        shown = node.label if node.label == node.url else f"{node.label} ({node.url})"
        return _esc(shown)
    return f'<a href="{_esc(href)}" style="{LINK_STYLE}">{_esc(node.label)}</a>'


def _html_node(node: _Node) -> str:
    if isinstance(node, _Text):
        return _esc(node.value)
    if isinstance(node, _Code):
        return f'<code style="{CODE_STYLE}">{_esc(node.value)}</code>'
    if isinstance(node, _Link):
        return _link_html(node)
    if isinstance(node, _Mention):
        return f'<span style="{MENTION_STYLE}">{_esc(node.value)}</span>'
    inner = "".join(_html_node(child) for child in node.children)
    return f"<{node.tag}>{inner}</{node.tag}>"


def _plain_link(node: _Link) -> str:
    if node.label in (node.url, node.url.removeprefix("mailto:")):
        return node.label
    return f"{node.label} ({node.url})"


def _plain_node(node: _Node) -> str:
    if isinstance(node, _Text | _Mention):
        return node.value
    if isinstance(node, _Code):
        return f"`{node.value}`"
    if isinstance(node, _Link):
        return _plain_link(node)
    inner = "".join(_plain_node(child) for child in node.children)
    return f"~{inner}~" if node.tag == "s" else inner


# ---------------------------------------------------------------- blocks


@dataclass(frozen=True)
class _Line:
    kind: str  # "para", "quote", "bullet", "number"
    text: str
    level: int = 0
    number: int = 0


@dataclass(frozen=True)
class _Block:
    kind: str  # a _Line kind, or "code"
    lines: tuple[_Line, ...]


def _indent_level(indent: str) -> int:
    return len(indent.expandtabs(4)) // 4


def _classify(line: str) -> _Line:
    if quote := _QUOTE_RE.match(line):
        return _Line("quote", quote.group(1))
    if bullet := _BULLET_RE.match(line):
        return _Line("bullet", bullet.group(2), _indent_level(bullet.group(1)))
    if number := _NUMBER_RE.match(line):
        level = _indent_level(number.group(1))
        return _Line("number", number.group(3), level, int(number.group(2)))
    return _Line("para", line)


def _lines(segment: str) -> Iterator[_Line]:
    rest = segment.split("\n")
    for pos, line in enumerate(rest):
        if quote_all := _QUOTE_ALL_RE.match(line):
            yield _Line("quote", quote_all.group(1))
            yield from (_Line("quote", later) for later in rest[pos + 1 :])
            return
        yield _classify(line)


def _group(lines: Iterator[_Line]) -> Iterator[_Block]:
    current: list[_Line] = []
    for line in lines:
        if current and current[0].kind != line.kind:
            yield _Block(current[0].kind, tuple(current))
            current = []
        current.append(line)
    if current:
        yield _Block(current[0].kind, tuple(current))


def _segments(text: str) -> Iterator[tuple[bool, str]]:
    """(is_code, text) pieces; newlines right next to a code fence belong to the fence."""
    pos = 0
    for match in _CODE_BLOCK_RE.finditer(text):
        before = text[pos : match.start()]
        yield False, before[:-1] if before.endswith("\n") else before
        yield True, match.group(1).removeprefix("\n").removesuffix("\n")
        pos = match.end()
        if text.startswith("\n", pos):
            pos += 1
    yield False, text[pos:]


def _blocks(text: str, d: Directory) -> Iterator[_Block]:
    for is_code, segment in _segments(text.replace("\r\n", "\n")):
        if is_code:
            yield _Block("code", (_Line("code", _code_text(segment, d)),))
        elif segment:
            yield from _group(_lines(segment))


# ---------------------------------------------------------------- block rendering


Nodes = tuple[_Node, ...]


@dataclass(frozen=True)
class _Parsed:
    """A block with each line's inline nodes parsed (none for code): parse once, render twice."""

    block: _Block
    inline: tuple[Nodes, ...]


def _parse(text: str, d: Directory) -> list[_Parsed]:
    return [
        _Parsed(
            block,
            ()
            if block.kind == "code"
            else tuple(tuple(_parse_inline(line.text, d)) for line in block.lines),
        )
        for block in _blocks(text, d)
    ]


def _nodes_html(nodes: Nodes) -> str:
    return "".join(_html_node(node) for node in nodes)


def _nodes_plain(nodes: Nodes) -> str:
    return "".join(_plain_node(node) for node in nodes)


def _list_item_html(line: _Line, nodes: Nodes) -> str:
    value = f' value="{line.number}"' if line.kind == "number" else ""
    indent = f' style="margin-left:{20 * line.level}px"' if line.level else ""
    return f"<li{value}{indent}>{_nodes_html(nodes)}</li>"


def _block_html(parsed: _Parsed) -> str:
    block = parsed.block
    if block.kind == "code":
        return f'<pre style="{PRE_STYLE}">{_esc(block.lines[0].text)}</pre>'
    if block.kind in ("bullet", "number"):
        tag = "ul" if block.kind == "bullet" else "ol"
        items = "".join(
            _list_item_html(line, nodes)
            for line, nodes in zip(block.lines, parsed.inline, strict=True)
        )
        return f'<{tag} style="{LIST_STYLE}">{items}</{tag}>'
    body = "<br>".join(_nodes_html(nodes) for nodes in parsed.inline)
    if block.kind == "quote":
        return f'<blockquote style="{QUOTE_STYLE}">{body}</blockquote>'
    return body


def _line_prefix(line: _Line) -> str | None:
    if line.kind == "quote":
        return "> "
    if line.kind == "bullet":
        return "    " * line.level + "• "
    if line.kind == "number":
        return "    " * line.level + f"{line.number}. "
    return None


def _line_plain(line: _Line, nodes: Nodes) -> str:
    text = _nodes_plain(nodes)
    prefix = _line_prefix(line)
    return (prefix + text).rstrip() if prefix is not None else text


def _block_plain(parsed: _Parsed) -> str:
    block = parsed.block
    if block.kind == "code":
        return f"```\n{block.lines[0].text}\n```"
    return "\n".join(
        _line_plain(line, nodes) for line, nodes in zip(block.lines, parsed.inline, strict=True)
    )


# ---------------------------------------------------------------- public API


def to_html(text: str, directory: Directory) -> str:
    """Slack mrkdwn as an HTML fragment; everything from Slack is escaped."""
    return "".join(_block_html(parsed) for parsed in _parse(text, directory))


def to_plain(text: str, directory: Directory) -> str:
    """Slack mrkdwn as readable plain text."""
    return "\n".join(_block_plain(parsed) for parsed in _parse(text, directory))


def to_html_and_plain(text: str, directory: Directory) -> tuple[str, str]:
    """Both renderings from one parse (what an email with both parts needs)."""
    parsed = _parse(text, directory)
    return ("".join(_block_html(p) for p in parsed), "\n".join(_block_plain(p) for p in parsed))
