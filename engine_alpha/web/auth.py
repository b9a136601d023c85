"""Who may read the web view: anyone on a loopback bind, a token holder anywhere else.

The token is compared in constant time (`hmac.compare_digest`). It comes from
`CHLOE_WEB_TOKEN` or a mode-0600 file (`--token-file`); a bind off loopback without one is
refused before the socket opens.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from engine_alpha.core.atomic_files import private_file_problem

__all__ = ["TOKEN_ENV", "WebAuthError", "is_loopback", "load_token", "token_matches"]

TOKEN_ENV = "CHLOE_WEB_TOKEN"
MIN_TOKEN_CHARS = 16


class WebAuthError(Exception):
    """The web view cannot start safely as asked; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_token(token_file: Path | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The token from `token_file` (mode 0600 or stricter) or `CHLOE_WEB_TOKEN`, or None."""
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            info = token_file.stat()
            text = token_file.read_text().strip()
        except OSError as exc:
            raise WebAuthError(f"{token_file}: cannot be read: {exc.strerror}") from None
        problem = private_file_problem(token_file, info.st_mode, "the token")
        if problem is not None:
            raise WebAuthError(problem)
        token = text
    else:
        token = env.get(TOKEN_ENV, "").strip()
        if not token:
            return None
    if len(token) < MIN_TOKEN_CHARS:
        raise WebAuthError(
            f"the web token is shorter than {MIN_TOKEN_CHARS} characters; make one with: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse a bind off loopback without a token."""
    if token is None and not is_loopback(host):
        raise WebAuthError(
            f"--host {host} is not a loopback address: binding there needs a token "
            f"({TOKEN_ENV} or --token-file), which every request must then present"
        )


def token_matches(expected: str | None, presented: str | None) -> bool:
    """True without a token to check; else the presented one must equal it (constant time)."""
    if expected is None:
        return True
    if presented is None:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
