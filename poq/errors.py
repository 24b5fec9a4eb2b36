"""Which exceptions are a user's mistake (one line, exit code 2) and which are bugs (a traceback).

The classes live where they are raised, in ``oracle`` and ``node``; the command line, above both, is the
one place that knows them all.
"""

from __future__ import annotations

from oracle.errors import UsageError

# The exit code of a command given something it cannot use (as argparse's own errors).
USAGE_EXIT = 2


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
                          ("oracle.chain.keys", ("KeyConfigError",)),
                          ("node.store", ("StoreMismatch", "StoreLocked", "StoreCorrupt"))):
        try:
            imported = __import__(module, fromlist=list(names))
        except Exception:  # noqa: BLE001 - a broken import must not mask the error being reported
            continue
        types.extend(t for t in (getattr(imported, n, None) for n in names) if isinstance(t, type))
    return tuple(types)


def is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, user_error_types())
