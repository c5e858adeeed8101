"""Refuses SMTP hosts on non-public addresses unless the operator allows them.

The bot connects wherever a user types, so a host that resolves to loopback, a private
range, link-local, multicast or any other non-global address would let a Slack user
probe the operator's network. The guard resolves the name itself and hands back the
vetted addresses; the mailer connects to exactly those, so a DNS answer that changes
between check and connect (rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.errors import HostLookupFailed, HostNotAllowed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class HostGuard:
    allowed: Sequence[str] = ()
    resolver: Resolver = system_resolver
    timeout: float = 5.0

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to; raises if none may be used."""
        literal = parse_ip(host)
        if literal is not None:
            candidates = [literal]
        else:
            try:
                answers = await asyncio.wait_for(self.resolver(host, port), self.timeout)
            except (OSError, TimeoutError, UnicodeError):
                raise HostLookupFailed(host=host) from None
            candidates = [ip for ip in map(parse_ip, answers) if ip is not None]
        if not candidates:
            raise HostLookupFailed(host=host)
        for address in candidates:
            self.check(host, address)
        return candidates

    def check(self, host: str, address: IPAddress) -> None:
        if _is_public(address) or self._operator_allows(host, address):
            return
        raise HostNotAllowed(host=host, address=str(address))

    def _operator_allows(self, host: str, address: IPAddress) -> bool:
        for item in self.allowed:
            if item.casefold() == host.strip().casefold().rstrip("."):
                return True
            try:
                if address in ipaddress.ip_network(item, strict=False):
                    return True
            except ValueError:
                continue
        return False


LOOPBACK = ipaddress.ip_address("127.0.0.1")


def allows_loopback(allowed: Sequence[str]) -> bool:
    """Whether the operator's allow list covers this machine (localhost, 127.0.0.1 or a CIDR)."""
    for item in allowed:
        if item.strip().casefold().rstrip(".") == "localhost":
            return True
        try:
            if LOOPBACK in ipaddress.ip_network(item.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def parse_ip(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# Python's is_global misses these (3.11): IETF protocol assignments, deprecated site-local.
_NOT_PUBLIC = (ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("fec0::/10"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _is_public(address: IPAddress) -> bool:
    if any(address in network for network in _NOT_PUBLIC if network.version == address.version):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour  # 2002::/16 carries an IPv4 address: judge that one
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _is_public(embedded)
    return address.is_global and not address.is_multicast and not address.is_reserved
