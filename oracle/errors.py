"""Errors that are the user's to fix, and how ``poq`` shows them.

A ``UsageError`` (or one of the user-facing error classes below) means the
command was given something it cannot use: a bad value, a missing file, a
deployment that does not match the chain. ``poq`` prints it as one line,
``poq: <message>``, and exits with code 2; the traceback only appears under
``poq --debug``. Anything else is a bug and keeps its traceback.

``UsageError`` is a ``ValueError``, so library code can raise it where it used
to raise ``ValueError`` without breaking a caller that catches ``ValueError``.
"""

from __future__ import annotations

# The exit code of a command given something it cannot use (as argparse's own errors).
USAGE_EXIT = 2


class UsageError(ValueError):
    """The user's mistake; the message names the value and the fix."""


def user_error_types() -> tuple[type[BaseException], ...]:
    """Every exception class that is a user's mistake rather than a bug.

    Imported lazily (only once something has gone wrong), so ``poq --help`` stays fast and a
    module that fails to import does not hide the original error.
    """
    types: list[type[BaseException]] = [UsageError]
    for module, names in (("oracle.pipeline.tasks", ("TaskFileError", "TaskSourceUnavailable")),
                          ("oracle.pipeline.models", ("UnknownModelError", "ModelFileError")),
                          ("oracle.simulation.record_pool", ("ProfileError",)),
                          ("oracle.chain.client", ("ChainError",)),
                          ("node.keys", ("KeyConfigError",)),
                          ("node.store", ("StoreMismatch", "StoreLocked", "StoreCorrupt"))):
        try:
            imported = __import__(module, fromlist=list(names))
        except Exception:  # noqa: BLE001 - a broken import must not mask the error being reported
            continue
        types.extend(t for t in (getattr(imported, n, None) for n in names) if isinstance(t, type))
    return tuple(types)


def is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, user_error_types())
