"""Destination address policy for outgoing fetches.

A feed URL is untrusted input: a configured (or redirected-to) URL can point
at the cloud metadata service (``169.254.169.254``), the host itself, or a
private network. ``AddressGuard`` resolves a host and refuses it when any of
its addresses falls in a blocked range.

Two ways to apply it:

* ``await guard.check(url)`` resolves and checks before a request. This leaves
  a DNS-rebinding window: the name may resolve to a harmless address for the
  check and to a blocked one a moment later, when the HTTP client connects.
* at connect time, which closes that window: ``transport.GuardedConnector``
  (the fetcher's own aiohttp connections) checks every address the host
  resolved to just before connecting to exactly those. TLS still verifies
  the certificate against the host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpx

from monitor.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressGuard:
    """Which destination addresses a fetch may connect to.

    Unspecified (``0.0.0.0``, ``::``), multicast and reserved addresses are
    always refused: no feed lives there. Link-local addresses (which include
    the cloud metadata service) are refused by default; loopback and private
    ranges only when asked. IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``)
    are judged by the IPv4 address they carry.
    """

    def __init__(
        self,
        block_private: bool = False,
        block_loopback: bool = False,
        block_link_local: bool = True,
    ) -> None:
        self.block_private = block_private
        self.block_loopback = block_loopback
        self.block_link_local = block_link_local

    def __repr__(self) -> str:
        return (
            f"AddressGuard(block_private={self.block_private}, "
            f"block_loopback={self.block_loopback}, block_link_local={self.block_link_local})"
        )

    def refusal(self, address: str) -> str | None:
        """Return the kind of a blocked address (e.g. ``"link-local"``), or None if allowed."""
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_unspecified:
            return "unspecified"
        if ip.is_multicast:
            return "multicast"
        if ip.is_link_local:
            return "link-local" if self.block_link_local else None
        if ip.is_loopback:
            return "loopback" if self.block_loopback else None
        if ip.is_reserved:
            return "reserved"
        if ip.is_private and self.block_private:
            return "private"
        return None

    def check_addresses(self, host: str, addresses: Iterable[str]) -> None:
        """Raise a permanent ``FetchError`` if any of ``addresses`` is blocked."""
        for address in addresses:
            kind = self.refusal(address)
            if kind is not None:
                raise FetchError(
                    f"fetch: refusing to connect to {kind} address {address} (host '{host}')",
                    permanent=True,
                )

    async def resolve(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and return its addresses, in resolver order, once each.

        Raises ``FetchError`` when the name does not resolve or when any of its
        addresses is blocked (all must pass, so a name cannot smuggle a blocked
        address in beside an allowed one).
        """
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"fetch: cannot resolve host '{host}'") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise FetchError(f"fetch: cannot resolve host '{host}'")
        self.check_addresses(host, addresses)
        return addresses

    async def check(self, url: str) -> None:
        """Resolve the host of ``url`` and raise ``FetchError`` if it may not be fetched.

        Contract: returns None when every address of the host is allowed. The
        check happens before connecting, so it leaves a DNS-rebinding window;
        ``transport.GuardedConnector`` enforces the same policy at connect time.
        """
        parsed = httpx.URL(url)
        if not parsed.host:
            raise FetchError(f"fetch: no host in URL {url!r}", permanent=True)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        await self.resolve(parsed.host, port)
