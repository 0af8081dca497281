"""Credentials masked out of URLs and of any text that may quote one (ADR 0016).

One rule for every surface that shows where Redis is (``hexbus config``, ``/api/v1/config``,
the dashboard, the worker's banner, CLI errors, log lines): :func:`redact_url` masks every
credential a Redis URL can carry and keeps the rest as written, so the operator still reads
the host, port, database and options:

* the user-info, ``redis://user:secret@host`` -> ``redis://***:***@host`` (a lone
  ``redis://secret@host`` is masked too: redis-py sends it as the user name, and people put
  passwords there);
* query parameters that hold or name a credential, ``?password=...``, ``?username=...``, and
  any whose name looks like one (``pass``, ``user``, ``auth``, ``token``, ``secret``, ``key``,
  ``cred``): their values become ``***``;
* ``unix://`` sockets (``unix://:secret@/run/redis.sock?db=0&password=...``) and IPv6 hosts
  (``[::1]:6379``, kept with their brackets) follow the same rule;
* a fragment is dropped to ``#***``; a URL that does not parse keeps only its scheme.

:func:`redact_text` applies it to every URL found in free text (an exception message, a log
line), and masks whatever given secrets appear verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import unquote

MASK: Final = "***"

_CREDENTIAL_PARAMETER: Final = re.compile(r"pass|user|auth|token|secret|key|cred", re.IGNORECASE)
_URL_IN_TEXT: Final = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
"""A URL of any scheme inside free text, up to the first blank or quote."""


def redact_url(url: str) -> str:
    """``url`` with every credential masked and everything else as written."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url if "@" not in url and "=" not in url else MASK
    # The user-info ends at the last '@': a password may hold '/', '?' or '#' unencoded (the
    # URL is then not valid, but the secret must still not show). Better to mask too much.
    at = rest.rfind("@")
    userinfo, location = (rest[:at], rest[at + 1 :]) if at >= 0 else ("", rest)
    location, hash_sign, fragment = location.partition("#")
    location, question, query = location.partition("?")
    if location.startswith("[") and "]" not in location:
        return f"{scheme}://{MASK}"  # a broken IPv6 literal: nothing after it can be trusted
    masked = f"{scheme}://"
    if at >= 0:
        masked += (f"{MASK}:{MASK}" if ":" in userinfo else MASK) + "@"
    masked += location
    if question:
        masked += "?" + _redact_query(query)
    if hash_sign:
        masked += "#" + (MASK if fragment else "")
    return masked


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials ``url`` carries, as written and percent-decoded, to mask verbatim in
    text that may quote them without the URL around them (a driver's error message)."""
    _, _, rest = url.partition("://")
    found: list[str] = []
    at = rest.rfind("@")
    if at >= 0:
        found += [part for part in rest[:at].split(":") if part]
    _, _, query = rest[at + 1 :].partition("?")
    for part in query.partition("#")[0].split("&"):
        name, _, value = part.partition("=")
        if value and _CREDENTIAL_PARAMETER.search(name):
            found.append(value)
    return tuple(dict.fromkeys([*found, *(unquote(value) for value in found)]))


def _redact_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and value and _CREDENTIAL_PARAMETER.search(name):
            value = MASK
        parts.append(f"{name}{equals}{value}")
    return "&".join(parts)


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every URL in it redacted, and each of ``secrets`` replaced by ``***``."""
    redacted = _URL_IN_TEXT.sub(lambda found: redact_url(found.group(0)), text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            redacted = redacted.replace(secret, MASK)
    return redacted
