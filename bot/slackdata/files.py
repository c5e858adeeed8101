"""Private Slack file downloads, with the bot token sent to Slack's file host only.

The token goes out only when the URL's host (and port) equals ``allowed_host`` exactly,
over https; plain http is accepted only when the allowed host is a loopback address
(the local Slack stand-in that ``SLACK_API_URL`` points at in tests). Any other URL
gets no request at all, and redirects are followed by hand under the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

SLACK_FILE_HOST = "files.slack.com"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MAX_REDIRECTS = 3
CHUNK_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def authority(url: str) -> str | None:
    """``host`` or ``host:port`` (non-default port) of an http(s) URL; None if unusable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    host = parts.hostname.lower()
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def file_host(api_url: str | None) -> str:
    """The host that may receive the bot token: SLACK_API_URL's host, else files.slack.com."""
    host = authority(api_url) if api_url else None
    if host is None or host in {"slack.com", "www.slack.com"}:
        return SLACK_FILE_HOST
    return host


def may_send_token(url: str, allowed_host: str) -> bool:
    """True only for https (or http to a loopback allowed host) on exactly ``allowed_host``."""
    host = authority(url)
    if host is None or host != allowed_host.lower():
        return False
    if urlsplit(url).scheme == "https":
        return True
    return _hostname(allowed_host) in LOOPBACK_HOSTS


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


@dataclass(frozen=True)
class _Redirect:
    location: str


async def download(
    *,
    url: str,
    token: str,
    allowed_host: str,
    max_bytes: int,
    session: aiohttp.ClientSession,
    allow_html: bool = False,
) -> bytes | None:
    """The file's bytes, or None (foreign host, error, larger than ``max_bytes``).

    Slack answers a token without ``files:read`` with its sign-in page (HTML), so an
    HTML answer counts as a failure unless ``allow_html`` says the file is HTML.
    """
    for _ in range(MAX_REDIRECTS + 1):
        if max_bytes < 0 or not may_send_token(url, allowed_host):
            return None
        try:
            outcome = await _get(
                url, token=token, max_bytes=max_bytes, session=session, allow_html=allow_html
            )
        except (aiohttp.ClientError, TimeoutError):
            return None
        if not isinstance(outcome, _Redirect):
            return outcome
        url = outcome.location
    return None


async def _get(
    url: str,
    *,
    token: str,
    max_bytes: int,
    session: aiohttp.ClientSession,
    allow_html: bool,
) -> bytes | _Redirect | None:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(url, headers=headers, allow_redirects=False) as response:
        if response.status in _REDIRECTS and "Location" in response.headers:
            return _Redirect(urljoin(url, response.headers["Location"]))
        if response.status != 200 or (response.content_type == "text/html" and not allow_html):
            return None
        if response.content_length is not None and response.content_length > max_bytes:
            return None
        return await _read_at_most(response, max_bytes)


async def _read_at_most(response: aiohttp.ClientResponse, max_bytes: int) -> bytes | None:
    body = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        body.extend(chunk)
        if len(body) > max_bytes:
            return None
    return bytes(body)
