"""Who the client is and whether it came over HTTPS, believing X-Forwarded-* only from configured proxies.

A reverse proxy that terminates TLS tells us the original scheme (X-Forwarded-Proto) and the client's address
(X-Forwarded-For, one address appended per proxy). Anyone can send those headers, so they count only when the
peer that connected to us is a trusted proxy (TRUSTED_PROXIES); then the client is the right-most address in
X-Forwarded-For that is not itself a trusted proxy.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ProxyTrust", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> list[Network]:
    networks = []
    for entry in (part.strip() for part in spec.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
    return networks


class ProxyTrust:
    def __init__(self, networks: Sequence[Network]) -> None:
        self.networks = tuple(networks)

    @classmethod
    def from_setting(cls, spec: str) -> ProxyTrust:
        return cls(parse_networks(spec))

    def is_trusted(self, address: str | None) -> bool:
        if not self.networks or not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address: the peer itself unless it is a trusted proxy that says on whose behalf it came."""
        if not forwarded_for or not self.is_trusted(peer):
            return peer or "unknown"
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop[:64]
        return hops[0][:64] if hops else (peer or "unknown")

    def is_https(self, peer: str | None, scheme: str, forwarded_proto: str | None) -> bool:
        if scheme == "https":
            return True
        if not forwarded_proto or not self.is_trusted(peer):
            return False
        return forwarded_proto.split(",")[0].strip().lower() == "https"
