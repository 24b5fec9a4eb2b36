"""The one event follower: a contract's events, batch by batch, from a saved position to the chain's head.

Daemons and the explorer both follow the chain through it. A position is the
last block fully read *and its hash*: before reading on, the follower checks
that the chain still has that block. If not (a reorg past it, or a devnet
restarted from a snapshot) it starts again from the first block, and says so
(``Batch.rewound``): every consumer's handlers are idempotent, so events seen
twice do no harm, while events missed would. Given the deploy block's hash
(the ``anchor``), it also checks after every read that the deployment itself is
still there; a chain replaced under it (``poq devnet down`` and ``up`` reuse
the contract address) raises ``DeploymentChanged`` before any of the new
chain's events are handed out.

Ranges are read ``MAX_LOG_RANGE`` blocks per ``eth_getLogs`` request, so a
consumer far behind stores its progress after every batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from web3.exceptions import BlockNotFound

from oracle.chain.client import MAX_LOG_RANGE, ChainError, PoQClient


class DeploymentChanged(ChainError):
    """The deploy block's hash changed under a follower: the chain was replaced (redeployed)."""


@dataclass(frozen=True)
class Position:
    """The last block fully read, and its hash (None when unknown, as for a position stored by hand)."""

    block: int
    hash: str | None = None


@dataclass(frozen=True)
class Batch:
    """Events of one block range in chain order, and the position after them."""

    events: list[dict] = field(default_factory=list)
    position: Position = Position(-1)
    rewound: bool = False  # the saved position was not on the chain any more: reading again from the start


class Follower:
    """Follows ``client``'s contract from ``start_block`` (its deploy block), anchored at ``anchor``'s hash."""

    def __init__(self, client: PoQClient, start_block: int, anchor: str | None = None) -> None:
        self.client = client
        self.start_block = start_block
        self.anchor = anchor

    def _hash(self, block: int) -> str | None:
        try:
            return self.client.block_hash(block)
        except BlockNotFound:
            return None

    def check_anchor(self) -> None:
        """Raise ``DeploymentChanged`` unless the deploy block still has the anchor's hash."""
        if self.anchor is None:
            return
        actual = self._hash(self.start_block)
        if actual != self.anchor:
            raise DeploymentChanged(
                f"the chain was replaced under this daemon: block {self.start_block} now has hash "
                f"{actual or '(none: the chain is shorter)'}, not {self.anchor} (a devnet torn down and "
                f"deployed again?): stopping before acting on the new chain; restart the daemon to follow the "
                f"new deployment (its store is a new file, this one keeps the old deployment's rounds)")

    def batches(self, after: Position | None) -> Iterator[Batch]:
        """Every event after ``after`` (None: from the start) up to the head, one range per batch."""
        head = self.client.w3.eth.block_number
        self.check_anchor()  # every poll, new blocks or not: the ticks after it act on this chain
        rewound = False
        if after is not None and after.block >= self.start_block and after.hash is not None \
                and self._hash(after.block) != after.hash:
            after, rewound = None, True
        cursor = after.block if after is not None else self.start_block - 1
        if rewound and cursor >= head:
            yield Batch([], Position(cursor), rewound=True)
        while cursor < head:
            to_block = min(head, cursor + MAX_LOG_RANGE)
            events = self.client.events(cursor + 1, to_block)
            position = Position(to_block, self._hash(to_block))
            self.check_anchor()  # the events were read from the chain this follower started on
            yield Batch(events, position, rewound)
            rewound = False
            cursor = to_block
