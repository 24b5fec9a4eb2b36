"""Invariant: PoQ holds exactly the ETH it owes, after every step of a random walk of calls.

    balance(PoQ) == sum(stakes) + sum(withdrawable balances) + sum(budgets of unsettled rounds)

The walk (seeded, so a failure replays) mixes every external call with random
actors, rounds and arguments, valid or not: registration, top-ups, exits,
opening (with dust budgets and stale parameter versions), commits (zero ones
too), honest and tampered reveals, references, scores, settlement, withdrawals,
parameter changes and mined blocks. A reverted call must change nothing; a
successful one must move value only between those three pots. At the end every
round is driven to Settled, and each settlement must equal the reference model
(with the stakes it found) and each committee the sortition's draw.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from eth_utils import keccak

from oracle.chain.client import ContractRevert, TaskSpec
from oracle.chain.ledger import stakes_at_settlement
from oracle.protocol.commitments import reference_commitment
from oracle.protocol.params import WAD, Role, Stage
from oracle.protocol.reward import Cost

from .harness import REFERENCE_SALT, FastClient, RoundPlay, check_settled

ETH = 10**18
STEPS = 200  # each walk: at least 200 random actions, the invariant checked after every one
# Windows long enough that a round's stages see several actions among the walk's random ones.
WINDOWS = {"commit_window": 40, "reveal_window": 40, "reference_window": 15, "score_commit_window": 40,
           "score_reveal_window": 40}
SEEDS = (20251, 77)


class Walk:
    """Random actions against one PoQ; ``play`` of each round remembers what was committed."""

    def __init__(self, client: FastClient, rng: random.Random, owner, requesters, nodes, evaluators, spares,
                 params) -> None:
        self.client, self.rng, self.owner, self.params = client, rng, owner, params
        self.requesters, self.nodes, self.evaluators, self.spares = requesters, nodes, evaluators, spares
        self.everyone = [owner, *requesters, *nodes, *evaluators, *spares]
        self.plays: dict[int, RoundPlay] = {}
        self.outcomes: Counter = Counter()
        self.log: list[str] = []

    # ------------------------------------------------------------------ actions

    def register(self):
        who = self.rng.choice(self.spares + self.nodes[:1])
        stake = self.rng.choice([self.params.min_stake - 1, self.params.min_stake, 3 * ETH])
        self.client.register(who, self.rng.choice([Role.INFERENCE, Role.EVALUATOR]), stake)

    def add_stake(self):
        self.client.transact(self.rng.choice(self.everyone), "addStake", value=self.rng.randint(1, ETH))

    def request_exit(self):
        self.client.transact(self.rng.choice(self.nodes + self.evaluators + self.spares), "requestExit")

    def complete_exit(self):
        self.client.transact(self.rng.choice(self.nodes + self.evaluators + self.spares), "completeExit")

    def open_round(self):
        requester = self.rng.choice(self.requesters)
        rid = self.client.next_round_id()
        th = keccak(text=f"walk {rid}")  # any bytes32: the contract never reads the task
        reference = self.rng.choice([None, "Denver Broncos"])
        commitment = (reference_commitment(self.client.chain_id, self.client.address, requester.address, th,
                                           reference, REFERENCE_SALT) if reference else b"\x00" * 32)
        floor = self.client.params(self.client.view("paramsVersion")).min_budget
        budget = self.rng.choice([1, floor - 1, floor, self.rng.randint(floor, 5 * ETH), self.rng.randint(1, 5 * ETH)])
        version = self.client.view("paramsVersion") - (self.rng.random() < 0.1)  # sometimes a stale version
        spec = TaskSpec(th, "data:,", "qa", self.rng.randint(1, 4), self.rng.randint(1, 3), commitment)
        receipt = self.client.transact(requester, "openRound", spec.as_tuple(version), value=budget)
        self.plays[rid] = RoundPlay(self.client, requester, rid, budget, int(receipt["blockNumber"], 16), th,
                                    reference)

    def _play(self, stage: Stage | None = None) -> RoundPlay:
        """Mostly a round whose stored stage is ``stage`` (if any is), otherwise any round."""
        if not self.plays:
            self.open_round()
        rids = list(self.plays)
        if stage is not None and self.rng.random() < 0.85:
            stored = self.client.rounds(rids)
            in_stage = [rid for rid, r in zip(rids, stored, strict=True) if r["stage"] == stage and not r["expired"]]
            expired = [rid for rid, r in zip(rids, stored, strict=True) if r["expired"]]
            if not in_stage and expired:  # poke a round past its deadline; it may land in ``stage``
                rid = self.rng.choice(expired)
                self.client.advance(self.plays[rid].requester, rid)
                return self.plays[rid]
            rids = in_stage or rids
        return self.plays[self.rng.choice(rids)]

    def _account(self, address: str):
        return next(a for a in self.everyone if a.address == address)

    def commit(self):
        play = self._play(Stage.COMMIT)
        fresh = [n for n in self.nodes + self.spares if n.address not in play.outputs]
        node = self.rng.choice(fresh or self.nodes)
        if self.rng.random() < 0.1:  # a zero commitment: refused, and it must take no slot
            return self.client.commit_output(node, play.rid, b"\x00" * 32)
        cost = Cost(self.rng.randint(0, 10_000), self.rng.randint(0, 500), self.rng.randint(0, 8_000))
        play.commit(node, f"out {self.rng.random()}", cost)

    def reveal(self):
        play = self._play(Stage.REVEAL)
        if not play.outputs:
            return self.commit()
        node = self._account(self.rng.choice(list(play.outputs)))
        if self.rng.random() < 0.15:  # a reveal that does not match its commitment
            e = play.outputs[node.address]
            self.client.reveal_output(node, play.rid, e.payload + "!", e.cost, e.salt)
        else:
            play.reveal(node)

    def reveal_reference(self):
        play = self._play(Stage.REFERENCE)
        if play.reference is not None and self.rng.random() < 0.9:
            return play.reveal_reference()
        self.client.reveal_reference(play.requester, play.rid, play.task_hash, "?", REFERENCE_SALT)  # a wrong one

    def commit_scores(self):
        play = self._play(Stage.SCORE_COMMIT)
        committee = [a for a in play.committee() if a not in play.scores]
        pool = [self._account(a) for a in committee] if committee and self.rng.random() < 0.9 else self.evaluators
        outputs = self.client.round(play.rid)["reveals"]
        scores = [self.rng.choice([0, WAD, self.rng.randint(0, WAD), self.rng.randint(0, WAD), WAD + 1])
                  for _ in range(outputs)]
        member = self.rng.choice(pool)
        if self.rng.random() < 0.1:  # a zero commitment: refused, and it must count for nothing
            return self.client.commit_scores(member, play.rid, b"\x00" * 32)
        play.commit_scores(member, scores, Cost(self.rng.randint(0, 3_000), 100, 500))

    def reveal_scores(self):
        play = self._play(Stage.SCORE_REVEAL)
        if not play.scores:
            return self.commit_scores()
        play.reveal_scores(self._account(self.rng.choice(list(play.scores))))

    def settle(self):
        self._play(Stage.SETTLEABLE).settle()

    def advance(self):
        play = self._play()
        self.client.advance(play.requester, play.rid)

    def withdraw(self):
        owed, _ = self.client.owed_and_nodes([a.address for a in self.everyone])
        creditors = [a for a in self.everyone if owed[a.address]]
        self.client.withdraw(self.rng.choice(creditors if creditors and self.rng.random() < 0.8 else self.everyone))

    def set_params(self):
        min_stake = self.rng.choice([ETH // 2, ETH])
        new = self.params.with_(min_stake=min_stake, slash_amount=self.rng.randint(0, min_stake),
                                min_budget=self.rng.choice([1, 10**15, ETH // 10]), **WINDOWS)
        self.client.transact(self.owner, "setParams", new.as_contract_tuple())

    def mine(self):
        self.client.mine(self.rng.randint(1, 10))

    ACTIONS = {"register": 2, "add_stake": 2, "request_exit": 1, "complete_exit": 2, "open_round": 5,
               "commit": 14, "reveal": 12, "reveal_reference": 2, "commit_scores": 10, "reveal_scores": 9,
               "settle": 6, "advance": 3, "withdraw": 5, "set_params": 1, "mine": 5}

    def step(self) -> None:
        name = self.rng.choices(list(self.ACTIONS), weights=list(self.ACTIONS.values()))[0]
        try:
            getattr(self, name)()
            self.outcomes[name] += 1
            self.log.append(name)
        except ContractRevert as exc:
            self.outcomes[f"{name} reverted {exc.name}"] += 1
            self.log.append(f"{name} reverted {exc.name}")

    # ------------------------------------------------------------------ invariant

    def holdings(self) -> tuple[int, int]:
        """(PoQ's ETH balance, stakes + withdrawable balances + unsettled budgets)."""
        owed, nodes = self.client.owed_and_nodes([a.address for a in self.everyone])
        rounds = self.client.rounds(range(1, self.client.next_round_id()))
        unsettled = sum(r["budget"] for r in rounds if r["stage"] != Stage.SETTLED)
        return (self.client.eth_balance(self.client.address),
                sum(owed.values()) + sum(n["stake"] for n in nodes.values()) + unsettled)

    def settle_everything(self) -> None:
        """Drives every round still open to Settled (every round must get there)."""
        for rid, play in self.plays.items():
            if self.client.round(rid)["stage"] != Stage.SETTLED:
                play.advance_to(Stage.SETTLEABLE)
                play.settle()


@pytest.mark.parametrize("seed", SEEDS)
def test_balance_covers_stakes_balances_and_open_budgets(poq, client, params, accounts, owner, requester,
                                                         outsider, inference_nodes, evaluators, seed):
    walk = Walk(client, random.Random(seed), owner, [requester, outsider], inference_nodes, evaluators,
                [accounts[i] for i in (16, 17, 18)], params)
    first_block = client.block_number()
    client.transact(owner, "setParams", params.with_(**WINDOWS).as_contract_tuple())
    held, owed = walk.holdings()
    assert held == owed
    for i in range(STEPS):
        walk.step()
        held, owed = walk.holdings()
        assert held == owed, f"step {i} ({walk.log[-1]}): PoQ holds {held} wei but owes {owed}; " \
                             f"last steps {walk.log[-10:]}"
    # The walk reached every corner that moves value, not only reverts, and the refusals v2 added.
    for name in ("open_round", "commit", "reveal", "commit_scores", "reveal_scores", "settle", "withdraw"):
        assert walk.outcomes[name] > 0, f"seed {seed} never completed {name}: {dict(walk.outcomes)}"
    for refusal in ("open_round reverted BudgetTooLow", "commit reverted ZeroCommitment"):
        assert walk.outcomes[refusal] > 0, f"seed {seed} never tried {refusal}: {dict(walk.outcomes)}"

    # Every round reaches Settled, and the pots still balance.
    walk.settle_everything()
    held, owed = walk.holdings()
    assert held == owed
    assert all(r["stage"] == Stage.SETTLED for r in client.rounds(list(walk.plays)))
    # Every settlement equals the reference model with the stakes it found; every committee is the
    # sortition's draw (so never an under-staked, late or exiting evaluator), no seat or slot held twice.
    events = client.events(from_block=0)
    stakes = stakes_at_settlement(events)
    settled = []
    for rid, play in walk.plays.items():
        settlement, model_input = check_settled(client, rid, stakes[rid], first_block)
        settled.append(settlement)
        r = client.round(rid)
        committed = [e["args"]["node"] for e in play.events("OutputCommitted")]
        assert len(committed) == len(set(committed)) == r["commits"] <= r["slots"]
        committee = play.committee()
        assert len(committee) == len(set(committee)) == r["drawn"] <= r["committee_size"]
        if committee:
            assert play.predicted_committee() == committee
    assert any(s.slashes for s in settled) and any(s.evaluators for s in settled)
    assert any(s.compensation for s in settled)
