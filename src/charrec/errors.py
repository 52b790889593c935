"""User-facing errors.

A `CharrecError` is a problem with what the user gave us (a file, an option, an image):
the CLI prints its message on one line and exits with code 2, without a traceback.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CharrecError(Exception):
    """A user error: the message names the thing and what is wrong with it."""

    exit_code = 2


class DataError(CharrecError):
    """A data file is missing, unreadable or not what it claims to be."""


class ConfigError(CharrecError):
    """An unknown option name or a value out of range."""


def unknown_choice(kind: str, name: str, valid: list[str] | tuple[str, ...]) -> ConfigError:
    """Error for an unknown name, listing the valid ones."""
    return ConfigError(f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(valid))}")
