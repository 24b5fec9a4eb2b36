"""The deployment's events, fetched incrementally, and the ledger's folds of them.

Every request first asks the chain for its head: new blocks are read from the
first unseen one through the one event follower (``oracle.chain.follower``), so the
explorer follows a live chain without a restart. If the last block seen has a
different hash now (a devnet restarted, or a reorg past it) the index starts
over from ``from_block``, so the page never shows events the chain no longer has.
"""

from __future__ import annotations

import threading
import time

import requests
from web3.exceptions import ProviderConnectionError

from oracle.chain.client import ChainError, PoQClient
from oracle.chain.follower import Follower, Position
from oracle.chain.ledger import AccountRecord, RoundRecord, build_accounts, build_rounds, node_summary


class ChainIndex:
    """One deployment's PoQ events since ``from_block``, and the rounds, accounts and summary they fold into.

    Thread-safe: the HTTP server's request threads share one index; every chain call and every read of the
    folds happens under ``lock`` (one web3 provider, one consistent snapshot per response). The status
    document alone reads without it, so it answers while a stalled chain holds the lock.
    """

    def __init__(self, client: PoQClient, from_block: int = 0, names: dict[str, str] | None = None,
                 models: dict[str, str] | None = None) -> None:
        self.client = client
        self.from_block = from_block
        self.names = dict(names or {})    # address -> display name (from the deployment file)
        self.models = dict(models or {})  # address -> model it serves; leaderboard groups by it
        self.head = from_block - 1
        self._head_hash: str | None = None
        self._follower = Follower(client, from_block)
        self._events: list[dict] = []
        # Held while refreshing and while a view reads the folds, so one response is one consistent snapshot.
        self.lock = threading.RLock()
        self.rounds: dict[int, RoundRecord] = {}
        self.accounts: dict[str, AccountRecord] = {}
        self.summary: dict[str, dict] = {}
        # Bumped whenever the folds change (new events, or a reset): the page redraws on it, not on every block.
        self.generation = 0
        # Held by the one thread reading the chain; ``refresh_within`` waits on it only so long.
        self._reading = threading.Lock()
        self.answered_at: float | None = None  # time.time() of the chain's last answer

    @property
    def event_count(self) -> int:
        return len(self._events)

    def refresh_within(self, wait: float) -> str | None:
        """Refresh unless the chain stalls: None once at the head, else why not (for ``/api/status``).

        A stopped chain holds a reading thread for up to the client's request timeout; this waits
        for that thread at most ``wait`` seconds and otherwise answers from the last snapshot.
        """
        if not self._reading.acquire(timeout=wait):
            return "chain not responding: another read of it has not returned yet"
        try:
            self._refresh()
        except (requests.RequestException, ProviderConnectionError, ChainError, OSError) as exc:
            return f"chain not responding ({type(exc).__name__})"
        finally:
            self._reading.release()
        return None

    def refresh(self) -> int:
        """Read every block up to the chain's head that has not been read yet; returns the head."""
        with self._reading:
            return self._refresh()

    def _refresh(self) -> int:
        with self.lock:
            position = Position(self.head, self._head_hash) if self._head_hash is not None else None
            changed = False
            for batch in self._follower.batches(position):
                if batch.rewound:  # the chain no longer has the last block read: start over
                    self._events = []
                self._events += batch.events
                self.head, self._head_hash = batch.position.block, batch.position.hash
                changed = changed or bool(batch.events) or batch.rewound
            self.answered_at = time.time()
            if changed:
                # Events carry attested costs only: normalise them under each round's parameter version.
                self.rounds = build_rounds(self._events, self.client.params)
                self.accounts = build_accounts(self._events)
                self.summary = node_summary(self.rounds)
                self.generation += 1
            return self.head

    def events_in(self, tx_hash: str) -> list[dict]:
        """The indexed PoQ events that transaction ``tx_hash`` (0x-hex, lower case) emitted."""
        return [e for e in self._events if e["tx"] == tx_hash]

    def name_of(self, address: str) -> str:
        return self.names.get(address, "")
