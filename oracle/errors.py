"""Errors that are the user's to fix, and how ``poq`` shows them.

A ``UsageError`` (or one of the user-facing error classes ``poq.errors``
lists) means the command was given something it cannot use: a bad value, a
missing file, a deployment that does not match the chain. ``poq`` prints it
as one line, ``poq: <message>``, and exits with code 2; the traceback only
appears under ``poq --debug``. Anything else is a bug and keeps its traceback.

``UsageError`` is a ``ValueError``, so library code can raise it where it used
to raise ``ValueError`` without breaking a caller that catches ``ValueError``.
"""

from __future__ import annotations


class UsageError(ValueError):
    """The user's mistake; the message names the value and the fix."""
