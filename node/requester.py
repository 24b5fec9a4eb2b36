"""The requester daemon (``poq requester``): opens rounds, reveals references, advances and settles.

For each round it takes the next task from its source, commits to the task's
references with a fresh salt, and stores task, references, salt and commitment
durably *before* sending ``openRound`` (a requester that loses the salt cannot
reveal the reference, and forfeits the unpaid pools to the nodes). It reads the
current parameter version, checks the budget against that version's
``min_budget``, and opens the round under the version it checked, so an owner's
``setParams`` in between makes the contract refuse the round (``ParamsChanged``)
and the requester reads the parameters again. Then, driven by ticks and
events, it reveals the reference (with the task hash it committed to) once the
outputs are fixed, calls ``advance`` whenever a stage's deadline has passed (a
devnet's interval mining makes deadlines pass in time), settles, and withdraws
the refund. A restarted requester finds a round it opened but never recorded
by its reference commitment in ``RoundOpened``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_typing import ChecksumAddress

from node.commit_reveal import eth
from node.daemon import Daemon
from node.store import Record
from oracle.chain.client import ContractRevert, PoQClient, TaskSpec
from oracle.chain.deployment import Deployment
from oracle.errors import UsageError
from oracle.protocol.commitments import new_salt, reference_commitment
from oracle.protocol.params import MAX_SLOTS, Stage
from oracle.protocol.task import Task, encode_references, task_digest, task_uri

PLANNED, OPENED, SETTLED, FAILED = "planned", "opened", "settled", "failed"
ZERO = b"\x00" * 32

# (rounds settled in this run, rounds asked for (0 = unbounded), what just happened)
RoundProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class RoundPlan:
    """How every round is opened: its budget, inference slots n and committee size K."""

    budget: int
    slots: int
    committee_size: int


class BudgetTooLow(ValueError):
    """The plan's budget is below the contract's ``min_budget``: no round can open with it."""


def check_budget(client, budget: int, version: int | None = None) -> int:
    """The parameter version (current unless given) whose ``min_budget`` ``budget`` meets; raises otherwise."""
    version = client.params_version() if version is None else version
    floor = client.params(version).min_budget
    if budget < floor:
        raise BudgetTooLow(f"a round's budget of {budget} wei ({budget / 10**18:g} ETH) is below the contract's "
                           f"minimum of {floor} wei ({floor / 10**18:g} ETH, parameter version {version}): "
                           "raise --budget-eth")
    return version


def plan_rounds(deployment: Deployment, client: PoQClient, budget: int, slots: int | None = None,
                committee: int | None = None) -> RoundPlan:
    """Budget, n and K: as given, else from the deployment and the chain's evaluator set.

    A value given is used as given (never replaced by a default); one the chain cannot take
    (more evaluators than are registered) is refused here rather than retried round after round.
    """
    slots = slots if slots is not None else len(deployment.accounts_by_role("inference"))
    if slots <= 0:
        raise UsageError(f"{deployment.path} lists no inference nodes: pass --slots N")
    if slots > MAX_SLOTS:
        raise UsageError(f"{deployment.path} lists {slots} inference nodes, more than the {MAX_SLOTS} slots a "
                         f"round can have: pass --slots N with N <= {MAX_SLOTS}")
    available = len(client.contract.functions.evaluatorSet().call())
    if committee is None:
        committee = min(3, available)
        if committee <= 0:
            raise UsageError(f"no evaluator is registered with PoQ {client.address}: register one first")
    elif committee > available:
        raise UsageError(f"--committee {committee}: only {available} evaluator(s) are registered with PoQ "
                         f"{client.address}: give --committee 1 to {available}, or register more evaluators")
    return RoundPlan(budget=budget, slots=slots, committee_size=committee)


def check_funds(client: PoQClient, address: ChecksumAddress, budget: int) -> None:
    """Refuse to start when the requester cannot pay even one round's budget (it would retry forever)."""
    balance = client.w3.eth.get_balance(address)
    if balance < budget:
        raise UsageError(f"--budget-eth {budget / 10**18:g}: the requester {address} holds only "
                         f"{balance / 10**18:g} ETH, less than one round's budget: lower --budget-eth or fund "
                         "the account")



class Requester:
    """Opens ``rounds`` rounds (0: forever) over ``tasks``, at most ``parallel`` at once, and settles them."""

    def __init__(self, daemon: Daemon, tasks: Sequence[Task], plan: RoundPlan, rounds: int, parallel: int = 1,
                 progress: RoundProgress | None = None) -> None:
        if not tasks:
            raise ValueError("the task source gave no tasks: check --tasks and --tasks-path")
        self.d = daemon
        self.client, self.store, self.log = daemon.client, daemon.store, daemon.log
        self.account = daemon.account
        self.tasks = list(tasks)
        self.plan = plan
        self.rounds = rounds
        self.parallel = parallel
        self.progress = progress or (lambda done, total, msg: None)
        self.opened_this_run = 0
        self.settled_this_run = 0
        self.failed: str | None = None

    def register(self) -> None:
        d = self.d

        @d.on_startup
        def resume() -> None:
            pending = self.store.pending(prefix="job:")
            if pending:
                # A run killed part-way and started again with the same --rounds finishes what it opened
                # first: the jobs it resumes count toward this run's rounds, not on top of them.
                self.opened_this_run += len(pending)
                self.log.info("resuming %d round(s) from the store (they count toward --rounds)", len(pending))

        @d.on_tick
        def drive() -> None:
            for rec in self.store.pending(prefix="job:"):
                d.guarded(f"{rec.key}", functools.partial(self.step, rec))
            active = len(self.store.pending(prefix="job:"))
            if active < self.parallel and (self.rounds == 0 or self.opened_this_run < self.rounds):
                d.guarded("opening a round", self.open_next)
            elif active == 0 and self.rounds and self.opened_this_run >= self.rounds:
                self.log.info("all %d round(s) settled", self.rounds)
                d.stop_event.set()

    # ------------------------------------------------------------------ opening

    def open_next(self) -> None:
        sequence = len(self.store.all(prefix="job:"))
        task = self.tasks[sequence % len(self.tasks)]
        th = task_digest(task)
        salt = new_salt()
        reference = encode_references(task.references) if task.references else None
        commitment = (reference_commitment(self.client.chain_id, self.client.address, self.account.address, th,
                                           reference, salt) if reference is not None else ZERO)
        rec = self.store.put(f"job:{sequence:06d}", PLANNED, {
            "task_id": task.id, "task_hash": th.hex(), "uri": task_uri(task), "kind": task.kind,
            "reference": reference, "salt": salt.hex(), "commitment": commitment.hex(),
            "from_block": self.client.w3.eth.block_number, "round_id": None,
        })
        self.opened_this_run += 1
        self.step(rec)

    def _find_opened(self, rec: Record) -> int | None:
        """The round a planned job already opened (lost receipt), matched by its unique reference commitment."""
        if rec.data["reference"] is None:
            return None  # without a salted commitment there is nothing unique to match: open again
        for ev in self.client.events(rec.data["from_block"], names=["RoundOpened"]):
            a = ev["args"]
            if a["requester"] == self.account.address and a["referenceCommitment"].hex() == rec.data["commitment"]:
                return a["roundId"]
        return None

    # ------------------------------------------------------------------ driving a round

    def step(self, rec: Record) -> None:
        if rec.status == PLANNED:
            round_id = self._find_opened(rec)
            if round_id is None:
                spec = TaskSpec(bytes.fromhex(rec.data["task_hash"]), rec.data["uri"], rec.data["kind"],
                                self.plan.slots, self.plan.committee_size, bytes.fromhex(rec.data["commitment"]))
                try:
                    version = check_budget(self.client, self.plan.budget)
                    rec = self.store.update(rec, PLANNED, params_version=version)
                    round_id = self.client.open_round(self.account, spec, self.plan.budget, params_version=version)
                except BudgetTooLow as exc:
                    self.store.update(rec, FAILED, done=True, error=str(exc))
                    self.failed = f"cannot open a round for task {rec.data['task_id']}: {exc}"
                    self.log.error("%s", self.failed)
                    self.d.stop_event.set()
                    return
                except ContractRevert as exc:
                    if exc.name == "ParamsChanged":
                        # The owner set new parameters after this requester read them: read them again.
                        self.log.warning("round for task %s: the parameters changed (%s) before it opened: "
                                         "reading them again", rec.data["task_id"], exc)
                        return
                    self.store.update(rec, FAILED, done=True, error=str(exc))
                    self.failed = f"cannot open a round for task {rec.data['task_id']}: {exc}"
                    self.log.error("%s: check --slots, --committee and --budget-eth", self.failed)
                    self.d.stop_event.set()
                    return
                self.log.info("round %d: opened for task %s (budget %s, %d slots, committee %d, parameters v%d)",
                              round_id, rec.data["task_id"], eth(self.plan.budget), self.plan.slots,
                              self.plan.committee_size, version)
            rec = self.store.update(rec, OPENED, round_id=round_id)
            self.progress(self.settled_this_run, self.rounds, f"round {round_id} opened")

        round_id = rec.data["round_id"]
        state = self.client.round(round_id)
        stage = Stage(state["stage"])
        if stage == Stage.SETTLED:
            self._settled(rec)
        elif state["expired"]:
            self.client.advance(self.account, round_id)
            self.log.info("round %d: %s deadline passed: advanced", round_id, stage.name)
        elif stage == Stage.REFERENCE and not state["reference_revealed"]:
            self.client.reveal_reference(self.account, round_id, bytes.fromhex(rec.data["task_hash"]),
                                         rec.data["reference"], bytes.fromhex(rec.data["salt"]))
            self.log.info("round %d: outputs fixed: revealed the reference", round_id)
        elif stage == Stage.SETTLEABLE:
            self.client.settle(self.account, round_id)
            self._settled(rec)

    def _settled(self, rec: Record) -> None:
        round_id = rec.data["round_id"]
        events = self.client.events(rec.data["from_block"], names=["RoundSettled", "Compensated", "Slashed"],
                                    round_id=round_id)
        (ev,) = [e for e in events if e["event"] == "RoundSettled"]
        paid, refund = ev["args"]["paid"], ev["args"]["refund"]
        compensated = sum(e["args"]["amount"] for e in events if e["event"] == "Compensated")
        slashes = sum(e["event"] == "Slashed" for e in events)
        # Withdraw the refund before the job is done: an RPC fault here retries this step (the balance
        # is read first, so nothing is sent twice); marked done first, the refund would wait for the next round.
        owed = self.client.balance_of(self.account.address)
        if owed:
            self.client.withdraw(self.account)
        self.store.update(rec, SETTLED, done=True, paid=paid, refund=refund, compensated=compensated)
        self.settled_this_run += 1
        extra = f" ({eth(compensated)} of it compensation from forfeited pools)" if compensated else ""
        extra += f", {slashes} node(s) slashed" if slashes else ""
        self.log.info("round %d: settled: paid %s to nodes%s, refund %s", round_id, eth(paid), extra, eth(refund))
        self.progress(self.settled_this_run, self.rounds, f"round {round_id} settled")


def run(daemon: Daemon, tasks: Sequence[Task], plan: RoundPlan, rounds: int, parallel: int = 1,
        progress: RoundProgress | None = None) -> Requester:
    """Attach the requester role to ``daemon`` and drive rounds until ``rounds`` are settled (or stopped)."""
    requester = Requester(daemon, tasks, plan, rounds, parallel, progress)
    requester.register()
    daemon.run()
    return requester
