"""The commit-reveal life of a node in one round, shared by inference nodes and evaluators.

Per round a node goes ``planned`` (its output or scores, cost and salt durably
stored: nothing has been sent yet) -> ``committed`` -> ``revealed`` ->
``settled``, or ends ``missed`` (the commit stage closed first) or ``lost``
(the reveal stage closed first: the stake will be slashed). ``step(round)``
reads the round from the chain and the record from the store and does the next
action, if any, so it is safe to call any number of times, after any crash.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod

from node.follower import Daemon, round_record
from node.store import Record
from oracle.params import Stage

PLANNED, COMMITTED, REVEALED = "planned", "committed", "revealed"
SETTLED, MISSED, LOST = "settled", "missed", "lost"
ZERO = b"\x00" * 32

# Test hook: seconds to sleep right after a commit is on chain and recorded, so a
# test can SIGKILL the daemon inside the commit -> reveal window.
PAUSE_ENV = "POQ_TEST_PAUSE_AFTER_COMMIT"

# How often every unfinished round is re-checked even without an event (seconds).
RECHECK_SECONDS = 5.0


def key(round_id: int) -> str:
    return f"round:{round_id}"


def eth(wei: int) -> str:
    return f"{wei / 1e18:.6f} ETH"


class CommitRevealRole(ABC):
    """One node's per-round commit-reveal state machine, driven by the daemon's events."""

    commit_stage: Stage
    reveal_stage: Stage

    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        self.client, self.store, self.log = daemon.client, daemon.store, daemon.log
        self.me = daemon.account.address
        self.pause_after_commit = float(os.environ.get(PAUSE_ENV, "0") or 0)
        self._last_recheck = 0.0

    # ------------------------------------------------------------------ what a role defines

    @abstractmethod
    def plan(self, round_id: int, state: dict) -> Record | None:
        """Do the work (run the model, score), durably store it with a fresh salt; None to sit the round out."""

    @abstractmethod
    def entry(self, round_id: int) -> dict:
        """This node's on-chain entry for the round: at least ``commitment`` and ``revealed``."""

    @abstractmethod
    def send_commit(self, round_id: int, rec: Record) -> None: ...

    @abstractmethod
    def send_reveal(self, round_id: int, rec: Record) -> None: ...

    # Which of the ledger's payout lists holds this role, and what its score is called there.
    paid_field: str
    score_field: str

    def report(self, round_id: int, record) -> str:
        """One line on what settlement gave this node."""
        for p in getattr(record, self.paid_field):
            if p["node"] == self.me:
                return (f"{self.score_field} {p[self.score_field] / 1e18:.3f}, cost {p['cost'] / 1e18:.3f}, "
                        f"reward {p['reward'] / 1e18:.3f}, paid {eth(p['amount'])}")
        return "no payout for this node"

    # ------------------------------------------------------------------ wiring

    def register(self) -> None:
        d = self.d

        @d.on("StageChanged", "RoundSettled")
        def round_moved(ev: dict) -> None:
            rid = ev["args"]["roundId"]
            if self.store.get(key(rid)) is not None:
                self.step(rid)

        @d.on_startup
        def resume_in_flight() -> None:
            pending = self.store.pending(prefix="round:")
            if pending:
                self.log.info("resuming %d round(s) in flight from the store: %s", len(pending),
                              ", ".join(f"{r.key.split(':')[1]} ({r.status})" for r in pending))
            for rec in pending:
                self.step(int(rec.key.split(":")[1]))

        @d.on_tick
        def recheck() -> None:
            if time.monotonic() - self._last_recheck < RECHECK_SECONDS:
                return
            self._last_recheck = time.monotonic()
            for rec in self.store.pending(prefix="round:"):
                d.guarded(f"round {rec.key}", lambda r=rec: self.step(int(r.key.split(":")[1])))

    # ------------------------------------------------------------------ the state machine

    def step(self, round_id: int) -> None:
        rec = self.store.get(key(round_id))
        if rec is not None and rec.done:
            return
        state = self.client.round(round_id)
        stage = Stage(state["stage"])
        if rec is None:
            rec = self.plan(round_id, state)
            if rec is None:
                return
            state = self.client.round(round_id)  # the work took time: read the stage again
            stage = Stage(state["stage"])
        entry = self.entry(round_id)

        if rec.status == PLANNED:
            if entry["commitment"] == ZERO:
                if stage != self.commit_stage or state["expired"]:
                    self.store.update(rec, MISSED, done=True)
                    self.log.warning("round %d: the %s stage's deadline passed before this node could commit",
                                     round_id, self.commit_stage.name)
                    return
                self.send_commit(round_id, rec)
            elif entry["commitment"] != bytes.fromhex(rec.data["commitment"]):
                self.store.update(rec, MISSED, done=True)
                self.log.error("round %d: the chain holds commitment 0x%s for this account, not the stored "
                               "0x%s: is another daemon using the same key?", round_id, entry["commitment"].hex(),
                               rec.data["commitment"])
                return
            rec = self.store.update(rec, COMMITTED)
            self.log.info("round %d: committed (durable before sending; reveal in %s)", round_id,
                          self.reveal_stage.name)
            if self.pause_after_commit and entry["commitment"] == ZERO:
                self.log.warning("round %d: pausing %.0fs after the commit (%s test hook)", round_id,
                                 self.pause_after_commit, PAUSE_ENV)
                time.sleep(self.pause_after_commit)
            entry = self.entry(round_id)
            state = self.client.round(round_id)
            stage = Stage(state["stage"])

        if rec.status == COMMITTED:
            if not entry["revealed"]:
                if stage < self.reveal_stage:
                    return  # others are still committing
                if stage > self.reveal_stage or state["expired"]:
                    self.store.update(rec, LOST, done=True)
                    self.log.error("round %d: the %s stage closed before this node revealed: its stake will be "
                                   "slashed", round_id, self.reveal_stage.name)
                    return
                self.send_reveal(round_id, rec)
                self.log.info("round %d: revealed", round_id)
            rec = self.store.update(rec, REVEALED)

        if rec.status == REVEALED and stage == Stage.SETTLED:
            record = round_record(self.client, round_id, self.d.start_block)
            self.store.update(rec, SETTLED, done=True)
            self.log.info("round %d: settled: %s", round_id, self.report(round_id, record))
            self.withdraw()

    def withdraw(self) -> None:
        """Pull what the contract owes this node (pull payments: nothing is pushed at settlement)."""
        owed = self.client.balance_of(self.me)
        if owed > 0:
            self.client.withdraw(self.d.account)
            self.log.info("withdrew %s", eth(owed))
