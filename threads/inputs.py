"""Input checks of a thread's commands (the services are the source of truth; serializers only
check JSON types). Each refusal is ``ApplicationError`` 400 with ``fields``."""

from __future__ import annotations

from typing import Any

from core.exceptions import ApplicationError

#: the largest seq a client may name (JSON-safe integer)
MAX_SEQ = 2**53
#: a client message id: 1–64 printable ASCII characters without spaces
MAX_CLIENT_MSG_ID_LENGTH = 64


def invalid(field: str, message: str, code: str = "invalid") -> ApplicationError:
    """400 ``code`` (default ``invalid``) with ``fields: {field: [message]}``."""
    return ApplicationError(message, code=code, status=400, fields={field: [message]})


def clean_text(text: Any, *, max_length: int, field: str = "text") -> str:
    """``text`` stripped of surrounding whitespace; 1..``max_length`` characters, no NUL, valid
    Unicode. Raises ``invalid`` with ``fields.<field>``."""
    if not isinstance(text, str):
        raise invalid(field, "Expected a string.")
    text = text.strip()
    if not text:
        raise invalid(field, "This field may not be blank.")
    if len(text) > max_length:
        raise invalid(field, f"Ensure this field has no more than {max_length} characters (it has {len(text)}).")
    if "\x00" in text:
        raise invalid(field, "Null characters are not allowed.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(field, "Text is not valid Unicode.") from None
    return text


def clean_client_msg_id(value: Any) -> str:
    """A client message id: ``""`` (none) or 1..64 printable ASCII characters without spaces."""
    if value is None:
        return ""
    if (not isinstance(value, str) or len(value) > MAX_CLIENT_MSG_ID_LENGTH
            or not all(33 <= ord(c) < 127 for c in value)):
        raise invalid("client_msg_id",
                      f"Expected at most {MAX_CLIENT_MSG_ID_LENGTH} printable ASCII characters without spaces.")
    return value


def clean_seq(value: Any, *, field: str = "seq", minimum: int = 1) -> int:
    """A seq named by a client: an integer ``minimum..MAX_SEQ`` (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_SEQ:
        raise invalid(field, f"Expected an integer >= {minimum}.")
    return value
