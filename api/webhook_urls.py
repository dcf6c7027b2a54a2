"""Callback URLs: http(s) only, and never to loopback, link-local or private addresses.

Checked when a detection names one and again before each delivery (a name may resolve
elsewhere by then). `WEBHOOK_ALLOW_PRIVATE=true` lifts the address rule (tests, one machine).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class BadCallbackUrl(ValueError):
    """The URL may not receive callbacks; the message says why."""


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_unspecified
            or ip.is_multicast or ip.is_reserved)


def check_url(url: str, allow_private: bool, max_chars: int) -> None:
    """Raise BadCallbackUrl unless `url` is an http(s) URL whose host resolves only to public
    addresses (any address when `allow_private`)."""
    if len(url) > max_chars:
        raise BadCallbackUrl(f"callback_url is longer than {max_chars} characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise BadCallbackUrl(f"callback_url is not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadCallbackUrl("callback_url must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise BadCallbackUrl("callback_url must not carry credentials")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError) as exc:
        raise BadCallbackUrl(f"callback_url host {parts.hostname!r} does not resolve") from exc
    for info in infos:
        if _forbidden(str(info[4][0])):
            raise BadCallbackUrl(
                f"callback_url host {parts.hostname!r} resolves to a loopback, link-local or "
                "private address (WEBHOOK_ALLOW_PRIVATE=true allows it)")
