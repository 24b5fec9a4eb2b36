"""The daemon runtime: event handlers, start-up and tick hooks over a durable block position.

A role (inference, evaluator, requester) registers what it does on which PoQ
event; the runtime follows the chain (``oracle.chain.follower``) from the block
after the stored position,
hands every event to its handlers in chain order, and moves the cursor only
once they all returned, so a daemon killed mid-batch sees those events again.
Handlers are idempotent: each reads the round's state from the chain and its
own store and acts only if the action has not happened yet.

RPC faults are retried with backoff (``node.retry``); a contract revert is logged
with the custom error decoded and the daemon goes on with the next event. A
store write the disk refuses (full) is waited out the same way: nothing was
sent for a record that was never written.

Each poll checks that the block last read is still on the chain (else it reads
again from the deploy block: a reorg) and that the deploy block still has the
hash the daemon started with. A devnet torn down and deployed again reuses the address and chain id,
and its rounds 1, 2, ... are not the old ones: the daemon stops
(``DeploymentChanged``: logged, and ``poq`` exits with code 2) before handling any of their events, and a
restart (by hand, or its supervisor) follows the new deployment with a new
store.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections import defaultdict
from collections.abc import Callable

from eth_account.signers.local import LocalAccount

from node.retry import describe, is_transient, retry
from node.store import Store
from oracle.chain.client import ContractRevert, PoQClient
from oracle.chain.follower import DeploymentChanged, Follower
from oracle.chain.ledger import RoundRecord, build_rounds

Handler = Callable[[dict], None]
Hook = Callable[[], None]


class Daemon:
    """Follows one PoQ contract for one account and runs the role's handlers."""

    def __init__(self, name: str, client: PoQClient, account: LocalAccount, store: Store, start_block: int,
                 log: logging.Logger, poll_interval: float = 0.5, deploy_hash: str | None = None) -> None:
        self.name = name
        self.locks: list = []  # held for the daemon's life (``ProcessLock``s), released on exit
        self.client = client
        self.account = account
        self.store = store
        self.start_block = start_block
        self.log = log
        self.poll_interval = poll_interval
        self.follower = Follower(client, start_block, anchor=deploy_hash)
        self.stop_event = threading.Event()
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._startup: list[Hook] = []
        self._tick: list[Hook] = []

    # ------------------------------------------------------------------ registration

    def on(self, *events: str) -> Callable[[Handler], Handler]:
        """Decorator: run the handler for every PoQ event named in ``events``."""
        def register(fn: Handler) -> Handler:
            for name in events:
                self._handlers[name].append(fn)
            return fn
        return register

    def on_startup(self, fn: Hook) -> Hook:
        """Decorator: run once before following (resume whatever the store says is in flight)."""
        self._startup.append(fn)
        return fn

    def on_tick(self, fn: Hook) -> Hook:
        """Decorator: run after every poll (deadline-driven work such as ``advance``)."""
        self._tick.append(fn)
        return fn

    # ------------------------------------------------------------------ running

    def guarded(self, what: str, fn: Callable[[], None]) -> None:
        """Run one unit of role work: RPC faults propagate (to be retried), reverts and bugs are logged."""
        try:
            fn()
        except ContractRevert as exc:
            self.log.warning("%s: %s", what, exc)
        except Exception as exc:  # noqa: BLE001 - a failing round must not stop the daemon
            if is_transient(exc):
                raise
            self.log.exception("%s failed (%s)", what, describe(exc))

    def _resync(self) -> None:
        self.client.resync_nonce(self.account.address)

    def _retry(self, fn: Callable[[], None], what: str) -> None:
        retry(fn, what, self.log, self.stop_event, on_transient=self._resync)

    def poll(self) -> None:
        """Hand every event between the stored position and the chain head to its handlers, batch by batch,
        storing the position after each batch (``oracle.chain.follower``: reorg and redeploy checks)."""
        for batch in self.follower.batches(self.store.position()):
            if batch.rewound:
                stored = self.store.position()
                assert stored is not None  # the follower rewinds only from a stored position
                self.log.warning("the chain no longer has block %d this daemon read last (a reorg, or a chain "
                                 "restarted from a snapshot): reading its events again from block %d",
                                 stored.block, self.start_block)
            for ev in batch.events:
                for handler in self._handlers.get(ev["event"], ()):
                    self.guarded(f"{ev['event']} at block {ev['block']}", functools.partial(handler, ev))
            self.store.set_position(batch.position)
            if self.stop_event.is_set():
                return

    def run(self) -> None:
        """Start-up hooks, then poll and tick until SIGTERM or SIGINT; ``DeploymentChanged`` stops it."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())
        try:
            self._run()
        except DeploymentChanged as exc:
            self.log.error("%s", exc)
            raise
        finally:
            self.store.close()
            for lock in self.locks:
                lock.release()

    def _run(self) -> None:
        for hook in self._startup:
            def start_up(h: Hook = hook) -> None:
                self.guarded(f"start-up {h.__name__}", h)
            self._retry(start_up, "resuming from the store")
        self.log.info("ready: %s follows PoQ %s on chain %d from block %d", self.account.address,
                      self.client.address, self.client.chain_id, (self.store.cursor() or self.start_block - 1) + 1)
        while not self.stop_event.is_set():
            self._retry(self.poll, "following events")
            for hook in self._tick:
                def tick(h: Hook = hook) -> None:
                    self.guarded(f"tick {h.__name__}", h)
                self._retry(tick, "ticking")
            self.stop_event.wait(self.poll_interval)
        self.log.info("stopped")


def round_record(client: PoQClient, round_id: int, from_block: int) -> RoundRecord:
    """Everything the chain's events say about one round (outputs in score-index order, reference,
    committee, payouts, compensation), with normalised costs under the round's parameter version.

    ``from_block`` is where the scan starts: the round's opening block when known (the scan then costs
    the round's own blocks, not the whole chain's), never later than it.
    """
    rounds = build_rounds(client.events(from_block, round_id=round_id), client.params)
    if round_id not in rounds:
        raise LookupError(f"no events for round {round_id} since block {from_block}")
    return rounds[round_id]
