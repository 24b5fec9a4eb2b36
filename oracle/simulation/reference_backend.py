"""Settling simulated rounds with the Python reference model (``oracle.protocol.reward.settle``).

Node names in the model's input are account labels (``slot-i``, ``member-j``),
the same accounts the Anvil backend registers, and stakes are carried from
round to round so a slash is sized exactly as the contract sizes it.

The model is given each round in the contract's order: outputs, silent
committers and committee members in ascending order of their accounts'
addresses, and every member's scores in the order of those outputs
(``chain_scores``). The Anvil backend passes its accounts' order
(``slot_order``, ``member_order``) and builds ``settle``'s calldata with the
same function; without an order, index order stands in (settlement does not
depend on the order, only on the scores following their outputs).

What the contract does that the model must be told:

- a round where no output is revealed draws no committee: no one scores, no
  one is paid, the silent committers are slashed;
- the committee is every member (the Anvil backend registers exactly K
  evaluators, all drawable), and every member commits and reveals, so the
  absent-member slash and the no-scorer compensation never arise here; the
  model would apply them as the contract does (``oracle.protocol.reward.settle``);
- no round has a reference, so none is withheld;
- a budget below ``Params.min_budget`` is refused at ``openRound``, so it is
  refused here too.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from oracle.protocol.params import Params
from oracle.protocol.reward import Evaluation, Output, RoundInput, Settlement, normalised_cost, settle
from oracle.simulation.engine import ROUND_BUDGET, cyclic_gc_paused, initial_stakes
from oracle.simulation.types import Paid, RoundOutcome, SimProgress, SimRound


def slot_label(i: int) -> str:
    return f"slot-{i}"


def member_label(j: int) -> str:
    return f"member-{j}"


def chain_scores(r: SimRound, member: int, outputs: Sequence[int]) -> tuple[int, ...]:
    """Member ``member``'s scores for the revealed slots ``outputs``, in that order.

    The engine keeps a member's scores in slot order of the revealed slots (``SimRound.revealed``); the
    contract takes them in the order of the revealed outputs' addresses. Both backends map through here."""
    revealed, scores = r.revealed, r.committee[member].scores
    if len(scores) != len(revealed):
        raise ValueError(f"round {r.index}: member {member} has {len(scores)} scores for {len(revealed)} outputs")
    if outputs == revealed:
        return scores
    return tuple(scores[revealed.index(i)] for i in outputs)


def check_budget(params: Params, budget: int = ROUND_BUDGET) -> None:
    """``openRound`` refuses a budget below the parameters' ``min_budget``: so does the simulation."""
    if budget < params.min_budget:
        raise ValueError(f"min_budget={params.min_budget} wei is above the simulated rounds' budget of {budget} "
                         "wei: the contract would refuse every round; lower min_budget")


def round_input(r: SimRound, params: Params, stakes: dict[str, int], budget: int = ROUND_BUDGET,
                slot_order: Sequence[int] | None = None, member_order: Sequence[int] | None = None) -> RoundInput:
    """The reference model's input for a simulated round, in the contract's order.

    ``slot_order`` and ``member_order`` list slot and member indices in ascending order of their accounts'
    addresses (default: index order)."""
    if not all(m.commits for m in r.committee):
        raise ValueError(f"round {r.index}: an absent member: the profile-level backends seat every member and "
                         "have it score; play absent evaluators in oracle.simulation.network")
    slots = range(len(r.slots)) if slot_order is None else slot_order
    members = range(len(r.committee)) if member_order is None else member_order
    outputs = [i for i in slots if r.slots[i].reveals]
    return RoundInput(
        budget=budget,
        slots=len(r.slots),
        committee_size=len(r.committee),
        outputs=tuple(Output(slot_label(i), normalised_cost(r.slots[i].cost, params.inference_cost))
                      for i in outputs),
        # No revealed output: the contract draws no committee, so no one scores, is paid or is slashed as a member.
        committee=tuple(Evaluation(member_label(j), True, chain_scores(r, j, outputs),
                                   normalised_cost(r.committee[j].cost, params.evaluator_cost))
                        for j in members) if outputs else (),
        unrevealed_committers=tuple(slot_label(i) for i in slots if not r.slots[i].reveals),
        stakes=dict(stakes),
    )


@functools.cache
def label_index(label: str) -> int:
    """The number a label or node name ends in (``slot-3`` -> 3, ``evaluator-012`` -> 12): the index outcomes
    carry. Labels recur round after round, so it is remembered."""
    return int(label.rsplit("-", 1)[1])


def outcome(settlement: Settlement) -> RoundOutcome:
    """A settlement (the model's, or one decoded from the chain's logs) in slot/member indices
    (labels are ``slot-i`` / ``member-j``), payouts sorted by index, slashes and compensation by label."""
    index = label_index
    return RoundOutcome(
        inference=tuple(sorted((Paid(index(p.node), p.quality, p.cost, p.reward, p.amount)
                                for p in settlement.inference), key=lambda p: p.index)),
        evaluators=tuple(sorted((Paid(index(p.node), p.agreement, p.cost, p.reward, p.amount)
                                 for p in settlement.evaluators), key=lambda p: p.index)),
        slashes=tuple(sorted(settlement.slashes)),
        paid=settlement.paid,
        refund=settlement.refund,
        compensation=tuple(sorted(settlement.compensation)),
    )


class ReferenceBackend:
    """Every round through ``oracle.protocol.reward.settle``, in order, stakes carried across rounds.

    ``slot_order``/``member_order``: the contract's order of the accounts (see ``round_input``)."""

    name = "reference"

    def __init__(self, slot_order: Sequence[int] | None = None, member_order: Sequence[int] | None = None) -> None:
        self.slot_order = None if slot_order is None else tuple(slot_order)
        self.member_order = None if member_order is None else tuple(member_order)

    @cyclic_gc_paused()
    def run(self, rounds: Sequence[SimRound], params: Params, progress: SimProgress | None = None
            ) -> list[RoundOutcome]:
        if not rounds:
            return []
        check_budget(params)
        stakes = {slot_label(i): s for i, s in enumerate(initial_stakes(rounds, params))}
        # Members register at the minimum stake (what the Anvil backend stakes), so a slash would be sized right.
        stakes.update({member_label(j): params.min_stake for j in range(len(rounds[0].committee))})
        out = []
        for k, r in enumerate(rounds, start=1):
            settlement = settle(round_input(r, params, stakes, slot_order=self.slot_order,
                                            member_order=self.member_order), params)
            for node, amount in settlement.slashes:
                stakes[node] -= amount
            out.append(outcome(settlement))
            if progress and (k % 250 == 0 or k == len(rounds)):
                progress(k, len(rounds))
        return out
