"""Keeping database passwords out of everything eventdeck prints.

`redact_url` hides the password of one URL. `hide_secrets` cleans any text (an
error message, a log line, a traceback): it hides every password that was
registered with `remember_secrets` — the `--db` URL's, and that of every engine
`make_engine` built — wherever it appears, and any `scheme://user:password@`
or `password=...` it finds, registered or not. Drivers and SQLAlchemy put the
DSN or the connect arguments into some exception messages; every place that
prints a message it did not write itself passes it through here.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, unquote

from sqlalchemy.engine import URL, make_url

MASK = "***"

# Up to the last "@": a password may itself contain an unescaped "@" (over-hiding is safe).
# Also for mistyped URLs ("postgres:/user:pw@host"), which must not leak either.
_PASSWORD_IN_NETLOC = re.compile(r"^\s*(?P<head>[A-Za-z][A-Za-z0-9+.\-]*:/*[^:/@]*:).*@")
_PASSWORD_IN_QUERY = re.compile(r"(?P<head>[?&](?:password|passwd|pwd)=)[^&]*", re.IGNORECASE)
# In free text a URL ends at whitespace or a quote; the password runs to its last "@".
_URL_IN_TEXT = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)[^\s'\"]*@", re.IGNORECASE
)
# `password='...'`, `password: "..."`, `"password": "..."` (connect arguments, reprs, JSON).
# After ":" only a quoted value counts ("wrong password: try again" is prose).
_PASSWORD_ITEM = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd)['\"]?\s*(?:=\s*|:\s*(?=['\"])))"
    r"(?P<value>'[^']*'|\"[^\"]*\"|[^\s,;&)}'\"]+)",
    re.IGNORECASE,
)
#: Passwords shorter than this are not searched for in free text: hiding every "a"
#: would garble messages, and a one-letter password hides nothing anyway.
_MIN_SECRET_LENGTH = 3

_known: set[str] = set()
_lock = threading.Lock()


def redact_url(url: str | URL) -> str:
    """The URL with any password replaced by `***`; safe to print or log."""
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    text = _PASSWORD_IN_NETLOC.sub(rf"\g<head>{MASK}@", url)
    return _PASSWORD_IN_QUERY.sub(rf"\g<head>{MASK}", text)


def passwords_in(url: str | URL) -> set[str]:
    """The password of a URL, in the forms it may be printed in (as typed, decoded,
    encoded); empty when it has none or cannot be parsed."""
    found: set[str] = set()
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    try:
        parsed = url if isinstance(url, URL) else make_url(text.strip())
    except Exception:  # noqa: BLE001 - a mistyped URL: fall back to the raw text
        parsed = None
    if parsed is not None and parsed.password:
        found.add(str(parsed.password))
        for key in ("password", "passwd", "pwd"):
            value = parsed.query.get(key)
            if isinstance(value, str):
                found.add(value)
    match = _PASSWORD_IN_NETLOC.match(text)
    if match:
        found.add(text[match.end("head") : text.rfind("@")])
    found |= {form for secret in list(found) for form in (unquote(secret), quote(secret, safe=""))}
    return {secret for secret in found if len(secret) >= _MIN_SECRET_LENGTH}


def remember_secrets(*urls: str | URL | None) -> None:
    """Register the passwords of `urls`, to be hidden from everything `hide_secrets` cleans."""
    for url in urls:
        if url:
            found = passwords_in(url)
            with _lock:
                _known.update(found)


def hide_secrets(text: str) -> str:
    """`text` with every registered password, URL password and `password=` value hidden."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)  # longest first: no half-hidden ones
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_IN_TEXT.sub(rf"\g<head>{MASK}@", text)
    return _PASSWORD_ITEM.sub(_hide_item, text)


def _hide_item(match: re.Match[str]) -> str:
    value = match.group("value")
    quote_mark = value[0] if value[0] in "'\"" else ""
    return f"{match.group('head')}{quote_mark}{MASK}{quote_mark}"


class SecretHidingFormatter(logging.Formatter):
    """A log formatter whose whole output (message, traceback) went through `hide_secrets`."""

    def format(self, record: logging.LogRecord) -> str:
        return hide_secrets(super().format(record))


def hide_secrets_in_logs(level: int = logging.WARNING) -> None:
    """Send warnings and errors to stderr, as Python does when logging is not set up,
    but through `SecretHidingFormatter`; Python warnings go the same way."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, SecretHidingFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(SecretHidingFormatter())
        handler.setLevel(level)
        root.addHandler(handler)
    logging.captureWarnings(True)
