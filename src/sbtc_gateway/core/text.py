"""What a text parameter may hold, and how long it may be.

PostgreSQL refuses NUL in text and lone surrogates cannot be encoded to UTF-8, so both would
otherwise surface as a 500 from the driver (SQLite stores them, so the two databases would
disagree too). They are refused at the edge, with the parameter named, before anything runs.
"""

from __future__ import annotations

# Stripe's usual maxLength for a string parameter (its OpenAPI document gives most strings 5000).
MAX_STRING = 5000
# Stripe: the ids it generates "will never exceed 255 characters"; ours are 36 at most.
MAX_ID = 255


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid UTF-8 (it holds a lone surrogate or bytes that are not UTF-8)"
    return None


def printable(value: str) -> str:
    """`value` with lone surrogates as U+FFFD, so that an error can name it in JSON."""
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
