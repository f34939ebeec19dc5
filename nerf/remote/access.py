"""Who may connect, and where: the token, its check, and the [HOST:]PORT of --serve / --connect.

Every connection carries the token in its WebSocket handshake (`Authorization: Bearer ...`); the
server compares it in constant time (hmac.compare_digest) before it reads anything else of the
request, and refuses the upgrade otherwise, so nothing a stranger sends reaches a decoder.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass

from nerf.errors import InputError

TOKEN_ENV = "NERF_VIEWER_TOKEN"
DEFAULT_HOST = "127.0.0.1"
AUTH_HEADER = "Authorization"
VERSION_HEADER = "X-Nerf-Viewer-Protocol"  # the client's wire.PROTOCOL
SOFTWARE_HEADER = "X-Nerf-Viewer-Version"  # the package version, named in a mismatch


@dataclass(frozen=True)
class Token:
    value: str
    generated: bool  # made up here: the user must be shown it once

    def matches(self, header: str | None) -> bool:
        """Whether an Authorization header carries this token (constant time in its content)."""
        given = (header or "").removeprefix("Bearer ").encode("utf-8", "replace")
        return hmac.compare_digest(given, self.value.encode("utf-8"))

    def header(self) -> str:
        return f"Bearer {self.value}"


def resolve_token(flag: str | None, *, generate: bool) -> Token:
    """--token, else $NERF_VIEWER_TOKEN, else (a server only) a new random one."""
    value = flag if flag is not None else os.environ.get(TOKEN_ENV)
    if value is not None:
        if not value or any(c.isspace() for c in value) or not value.isprintable():
            raise InputError("--token", "must be non-empty printable text without spaces")
        return Token(value, generated=False)
    if not generate:
        raise InputError("--token", f"the server's token is needed: --token or {TOKEN_ENV}")
    return Token(secrets.token_urlsafe(24), generated=True)


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_address(text: str, flag: str, *, default_host: str | None = DEFAULT_HOST) -> Address:
    """'[HOST:]PORT' ('[::1]:PORT' for IPv6); the host may be left out only where default_host is set.
    Port 0 (any free port) is allowed for a server."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") if sep else ""
    if not host:
        if default_host is None:
            raise InputError(flag, f"expected HOST:PORT, got '{text}'")
        host = default_host
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError(flag, f"expected [HOST:]PORT with a port in 0..65535, got '{text}'")
    return Address(host, int(port))


def exposure_warning(address: Address) -> str | None:
    """The one line a non-loopback bind prints (None on loopback)."""
    if address.loopback:
        return None
    return (f"warning: serving on {address.host}, not loopback: the traffic (token included) is not encrypted; "
            "across the internet bind 127.0.0.1 and use an SSH tunnel (ssh -L)")
