"""RPC faults a daemon rides out: which errors are transient, and retrying them with backoff.

A refused connection, a timeout, a dropped response or an RPC restarted
underneath are transient (and so is a store write a full disk refused): the
daemon logs one plain line, waits (exponential backoff with jitter, capped) and
runs the same step again. Steps are written to be re-run safely: each reads the
chain's state first and acts only if the action has not happened yet, so a
transaction whose receipt was lost is not sent twice. A contract revert is not
transient and is never retried here.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from web3.exceptions import ProviderConnectionError, TimeExhausted, Web3RPCError

from node.store import StoreUnavailable

T = TypeVar("T")

# Node replies that mean "your view of the nonce or mempool is stale", as after an
# RPC restart or a lost reply to a send: resynchronise the nonce and run the step again.
_STALE_TX_MESSAGES = ("nonce too low", "nonce too high", "already known", "already imported",
                      "replacement transaction underpriced")


def is_transient(exc: BaseException) -> bool:
    """True for errors that say the RPC was unreachable or slow (or the store's disk refused a write),
    not that the call was wrong."""
    if isinstance(exc, StoreUnavailable):
        return True
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                        ProviderConnectionError, TimeExhausted, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, requests.HTTPError):
        return exc.response is None or exc.response.status_code >= 500
    if isinstance(exc, Web3RPCError):
        return any(m in str(exc).lower() for m in _STALE_TX_MESSAGES)
    return False


# What a transport error's long message boils down to, for a plain log line.
_CAUSES = ("Connection refused", "Connection reset", "Remote end closed connection", "Read timed out",
           "timed out", "Connection aborted")


def describe(exc: BaseException) -> str:
    """A one-line cause without a traceback: the exception's class and its gist."""
    text = str(exc)
    for cause in _CAUSES:
        if cause in text:
            return f"{type(exc).__name__}: {cause.lower()}"
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:160]}" if first else type(exc).__name__


@dataclass
class Backoff:
    """Exponential delays with full jitter: 0.25 s, 0.5 s, ... up to ``cap``."""

    base: float = 0.25
    cap: float = 8.0
    attempt: int = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return delay / 2 + random.uniform(0, delay / 2)


def retry(step: Callable[[], T], what: str, log: logging.Logger, stop: threading.Event,
          on_transient: Callable[[], None] | None = None, backoff: Backoff | None = None) -> T | None:
    """Run ``step`` until it returns, retrying transient RPC errors; None if ``stop`` is set meanwhile.

    ``on_transient`` runs after each transient failure (e.g. to drop cached nonces).
    Any other exception propagates.
    """
    backoff = backoff or Backoff()
    while not stop.is_set():
        try:
            result = step()
        except Exception as exc:  # noqa: BLE001 - classified right below
            if not is_transient(exc):
                raise
            if on_transient is not None:
                on_transient()
            delay = backoff.next_delay()
            log.warning("%s fault while %s (%s): retrying in %.1fs (attempt %d)",
                        "store" if isinstance(exc, StoreUnavailable) else "RPC", what, describe(exc), delay,
                        backoff.attempt)
            stop.wait(delay)
            continue
        if backoff.attempt:
            log.info("back: %s succeeded after %d retries", what, backoff.attempt)
        return result
    return None
