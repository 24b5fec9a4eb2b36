"""The commit-reveal life of a node in one round, shared by inference nodes and evaluators.

Per round a node goes ``planned`` (its output or scores, cost and salt durably
stored: nothing has been sent yet) -> ``committed`` -> ``revealed`` ->
``settled``, or ends ``missed`` (the commit stage closed first) or ``lost``
(the reveal stage closed first: the stake will be slashed). An evaluator's
record starts one step earlier, ``drawn`` (see ``node.evaluator``), and may end
``sat_out``. ``step(round)`` reads the round from the chain and the record
from the store and does the next action, if any, so it is safe to call any
number of times, after any crash.

The contract keeps one state byte per node and round (``Entry``: member,
committed, revealed), not the commitment itself: a node that finds itself
committed without having sent the commitment in this run checks the
commitment in its ``OutputCommitted`` / ``ScoresCommitted`` event against the
stored one (another daemon on the same key would differ).

A store lost after a commit (deleted, or a daemon moved to a new disk) cannot
be recovered from the chain: the salt was only in the store. A restarted
daemon re-reads the chain from its deploy block, so before planning a round
it finds itself already committed there with nothing planned in its store,
and says so loudly (the stake of an unsettled round will be slashed) rather
than nothing. A node whose stake fell below the round's ``minStake``
takes no new rounds (the contract would refuse its commit) and says why.

Reading a round's events starts at its opening block, not the deployment's:
the block of every ``RoundOpened`` seen is kept in memory until the round
settles, and a round's record stores it (``opened_block``) so a restarted
daemon still has it. Only a round opened before a restart and not yet
planned falls back to the deployment's first block.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from functools import partial

from node.daemon import Daemon, round_record
from node.store import Record
from oracle.protocol.params import Stage

DRAWN, PLANNED, COMMITTED, REVEALED = "drawn", "planned", "committed", "revealed"
SETTLED, MISSED, LOST, SAT_OUT = "settled", "missed", "lost", "sat_out"

# How often every unfinished round is re-checked even without an event (seconds).
RECHECK_SECONDS = 5.0


def key(round_id: int) -> str:
    return f"round:{round_id}"


def eth(wei: int) -> str:
    """Wei as ETH with 6 decimals; an amount too small to show so (dust) in wei."""
    return f"{wei} wei" if 0 < wei < 10**12 else f"{wei / 1e18:.6f} ETH"


class CommitRevealRole(ABC):
    """One node's per-round commit-reveal state machine, driven by the daemon's events."""

    commit_stage: Stage
    reveal_stage: Stage

    def __init__(self, daemon: Daemon) -> None:
        self.d = daemon
        self.client, self.store, self.log = daemon.client, daemon.store, daemon.log
        self.me = daemon.account.address
        self._last_recheck = 0.0
        self._below_stake: tuple[int, int] | None = None  # (stake, minimum) last reported, while below
        # Round id -> block of its RoundOpened, for rounds seen opening and not settled yet.
        self._opened_at: dict[int, int] = {}

    # ------------------------------------------------------------------ what a role defines

    @abstractmethod
    def plan(self, round_id: int, state: dict, trigger: dict | None, rec: Record | None) -> Record | None:
        """Do the work (run the model, score), store it with ``planned``; None to sit the round out.

        ``trigger`` is the event passed to ``step`` by the handler that starts this role's part in a round
        (None on a stage change, a recheck or a resume); ``rec`` the round's ``drawn`` record, if the role
        keeps one before planning. A role plans a round only on its trigger or its ``drawn`` record.
        """

    @abstractmethod
    def entry(self, round_id: int) -> dict:
        """This node's on-chain entry for the round: at least ``committed`` and ``revealed``."""

    def missed_commit(self, round_id: int, state: dict) -> str:
        """What missing the commit stage costs this role (a clause for the log line)."""
        return "nothing is lost: a node that never committed is not slashed"

    @abstractmethod
    def send_commit(self, round_id: int, rec: Record) -> None: ...

    @abstractmethod
    def send_reveal(self, round_id: int, rec: Record) -> None: ...

    # Which of the ledger's payout lists holds this role, and what its score is called there.
    paid_field: str
    score_field: str

    def report(self, round_id: int, record) -> str:
        """One line on what settlement gave this node: its payout, compensation and slash, if any."""
        parts = []
        for p in getattr(record, self.paid_field):
            if p["node"] == self.me:
                parts.append(f"{self.score_field} {p[self.score_field] / 1e18:.3f}, cost {p['cost'] / 1e18:.3f}, "
                             f"reward {p['reward'] / 1e18:.3f}, paid {eth(p['amount'])}")
        compensated = record.compensated(self.me)
        if compensated:
            why = "the requester withheld its reference" if record.reference_withheld else "nobody scored"
            parts.append(f"compensated {eth(compensated)} ({why})")
        for s in record.slashes:
            if s["node"] == self.me:
                parts.append(f"slashed {eth(s['amount'])} ({record.slash_reason(self.me)})")
        return "; ".join(parts) or "no payout for this node"

    def opened_block(self, round_id: int, rec: Record | None = None) -> int:
        """The round's opening block (from its record, else this run's events), else the deployment's first."""
        if rec is not None and "opened_block" in rec.data:
            return rec.data["opened_block"]
        return self._opened_at.get(round_id, self.d.start_block)

    def stake_short(self, state: dict) -> str | None:
        """Why this node cannot take round ``state`` for want of stake (None if its stake suffices).

        The contract checks the stake against the round's own ``minStake`` at commit, so a node below it
        would do the work and be refused; it says so once per change, with the fix.
        """
        stake = self.client.node(self.me)["stake"]
        floor = self.client.params(state["params_version"]).min_stake
        if stake >= floor:
            if self._below_stake is not None:
                self.log.info("stake %s is at the minimum %s again: taking rounds", eth(stake), eth(floor))
            self._below_stake = None
            return None
        if self._below_stake != (stake, floor):
            self.log.warning("stake %s is below the minimum %s (slashed?): this node takes no rounds until its "
                             "stake is topped up with addStake (the contract would refuse its commits)",
                             eth(stake), eth(floor))
        self._below_stake = (stake, floor)
        return f"stake {eth(stake)} below the minimum {eth(floor)}"

    def orphaned(self, round_id: int, state: dict, rec: Record | None) -> None:
        """This account committed in a round its store has no commitment for: the salt is lost; say so loudly.

        Recorded as ``lost`` (done), so the warning is given once, and nothing is sent.
        """
        commitment = self.client.commitment(round_id, self.me, self.opened_block(round_id, rec))
        self.store.put(key(round_id), LOST, {"orphaned": True, "commitment": commitment.hex() if commitment else None,
                                             "opened_block": self.opened_block(round_id, rec)}, done=True)
        if Stage(state["stage"]) == Stage.SETTLED:
            self.log.warning("round %d: this account committed, but the store has no record of it (the round "
                             "is settled: nothing more to lose)", round_id)
            return
        self.log.error("round %d: LOST SALT: this account committed %s on chain, but the store %s has no "
                       "record of that commitment. Was the store deleted or moved to a new disk, or is another "
                       "daemon using this key? Without the salt the commitment cannot be revealed, and the stake "
                       "will be slashed at settlement; restore the store file if a copy exists", round_id,
                       "0x" + commitment.hex() if commitment else "a commitment", self.store.path)

    def planned(self, round_id: int, data: dict, rec: Record | None = None) -> Record:
        """Store the round's record as ``planned``, durably, with ``data`` and the round's opening block
        (``rec``: the record it replaces, if any)."""
        return self.store.put(key(round_id), PLANNED, {**data, "opened_block": self.opened_block(round_id, rec)})

    # ------------------------------------------------------------------ wiring

    def register(self) -> None:
        d = self.d

        @d.on("RoundOpened")
        def remember_opening(ev: dict) -> None:
            self._opened_at[ev["args"]["roundId"]] = ev["block"]

        @d.on("StageChanged", "RoundSettled")
        def round_moved(ev: dict) -> None:
            rid = ev["args"]["roundId"]
            if self.store.get(key(rid)) is not None:
                self.step(rid)

        @d.on("RoundSettled")
        def forget_opening(ev: dict) -> None:
            """Registered after ``round_moved``, so a settling round's step still had the block."""
            self._opened_at.pop(ev["args"]["roundId"], None)

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
                def step_round(key: str = rec.key) -> None:
                    self.step(int(key.split(":")[1]))
                d.guarded(f"round {rec.key}", step_round)

    # ------------------------------------------------------------------ the state machine

    def step(self, round_id: int, trigger: dict | None = None) -> None:
        """Do the round's next action, if any; ``trigger`` (the handled event, if any) goes to ``plan``."""
        rec = self.store.get(key(round_id))
        if rec is not None and rec.done:
            return
        state = self.client.round(round_id)
        stage = Stage(state["stage"])
        if rec is None or rec.status == DRAWN:
            if self.entry(round_id)["committed"]:  # committed, yet nothing planned in this store
                self.orphaned(round_id, state, rec)
                return
            self.reveal_due(round_id)
            rec = self.plan(round_id, state, trigger, rec)
            if rec is None:
                return
            state = self.client.round(round_id)  # the work took time: read the stage again
            stage = Stage(state["stage"])
        entry = self.entry(round_id)

        if rec.status == PLANNED:
            if not entry["committed"]:
                if stage != self.commit_stage or state["expired"]:
                    self.store.update(rec, MISSED, done=True)
                    self.log.warning("round %d: the %s stage's deadline passed before this node could commit: %s",
                                     round_id, self.commit_stage.name, self.missed_commit(round_id, state))
                    return
                self.send_commit(round_id, rec)
            else:
                onchain = self.client.commitment(round_id, self.me, self.opened_block(round_id, rec))
                if onchain != bytes.fromhex(rec.data["commitment"]):
                    self.store.update(rec, MISSED, done=True)
                    self.log.error("round %d: the chain holds commitment %s for this account, not the stored "
                                   "0x%s: is another daemon using the same key?", round_id,
                                   "0x" + onchain.hex() if onchain else "none", rec.data["commitment"])
                    return
            rec = self.store.update(rec, COMMITTED)
            self.log.info("round %d: committed (durable before sending; reveal in %s)", round_id,
                          self.reveal_stage.name)
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
            record = round_record(self.client, round_id, self.opened_block(round_id, rec))
            self.log.info("round %d: settled: %s", round_id, self.report(round_id, record))
            # Withdraw before the record is done: an RPC fault in the withdrawal retries this step
            # (``withdraw`` reads the balance first, so nothing is sent twice); done first, it never would.
            self.withdraw()
            self.store.update(rec, SETTLED, done=True)

    def reveal_due(self, round_id: int) -> None:
        """Before new work in ``round_id``, reveal every other round this node committed in whose reveal
        stage is open.

        New work (a model's run, scoring) takes seconds and a daemon does one thing at a time; a poll
        that an RPC outage interrupts starts its batch again, new work first. A reveal waiting behind
        that can run out of its window (found by the chaos soak: two live nodes slashed), and a
        committed node that does not reveal is slashed, while a missed commit costs nothing.
        """
        for rec in self.store.pending(prefix="round:"):
            other = int(rec.key.split(":")[1])
            if other != round_id and rec.status == COMMITTED:
                self.d.guarded(f"round {other}", partial(self.step, other))

    def withdraw(self) -> None:
        """Pull what the contract owes this node (pull payments: nothing is pushed at settlement)."""
        owed = self.client.balance_of(self.me)
        if owed > 0:
            self.client.withdraw(self.d.account)
            self.log.info("withdrew %s", eth(owed))
