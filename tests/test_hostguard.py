from __future__ import annotations

import pytest

from bot.errors import HostLookupFailed, HostNotAllowed
from bot.hostguard import HostGuard


def resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("NXDOMAIN")
        return answers[host]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.4.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "224.0.0.251",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        # 6to4 embedding loopback and private IPv4, site-local, IETF protocol assignments, NAT64
        "2002:7f00:2::",
        "2002:a00:1::",
        "fec0::1",
        "192.0.0.8",
        "64:ff9b::7f00:1",
    ],
)
async def test_non_public_addresses_are_refused(address: str) -> None:
    guard = HostGuard(resolver=resolver({"mail.example.org": [address]}))
    with pytest.raises(HostNotAllowed):
        await guard.resolve("mail.example.org", 587)
    with pytest.raises(HostNotAllowed):
        await guard.resolve(address, 587)


@pytest.mark.parametrize("address", ["2002:808:808::1", "64:ff9b::808:808", "17.57.152.5"])
async def test_public_addresses_in_those_forms_pass(address: str) -> None:
    guard = HostGuard(resolver=resolver({"mail.example.org": [address]}))
    assert len(await guard.resolve("mail.example.org", 587)) == 1


async def test_one_private_answer_among_public_ones_is_refused() -> None:
    guard = HostGuard(resolver=resolver({"mail.example.org": ["17.57.155.37", "10.1.1.1"]}))
    with pytest.raises(HostNotAllowed):
        await guard.resolve("mail.example.org", 587)


async def test_public_addresses_pass() -> None:
    guard = HostGuard(resolver=resolver({"smtp.mail.me.com": ["17.57.155.37"]}))
    assert [str(a) for a in await guard.resolve("smtp.mail.me.com", 587)] == ["17.57.155.37"]


@pytest.mark.parametrize("allowed", ["relay.internal", "10.0.0.0/8", "10.0.0.8"])
async def test_the_operator_can_allow_hosts_by_name_ip_or_cidr(allowed: str) -> None:
    guard = HostGuard(allowed=[allowed], resolver=resolver({"relay.internal": ["10.0.0.8"]}))
    assert [str(a) for a in await guard.resolve("relay.internal", 25)] == ["10.0.0.8"]


async def test_unknown_hosts_are_reported() -> None:
    with pytest.raises(HostLookupFailed):
        await HostGuard(resolver=resolver({})).resolve("smtp.nowhere.example", 587)
