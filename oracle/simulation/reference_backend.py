"""Settling simulated rounds with the Python reference model (``oracle.reward.settle``).

Node names in the model's input are account labels (``slot-i``, ``member-j``),
the same accounts the Anvil backend registers, and stakes are carried from
round to round so a slash is sized exactly as the contract sizes it.
"""

from __future__ import annotations

from typing import Sequence

from oracle.params import Params
from oracle.reward import Evaluation, Output, RoundInput, Settlement, normalised_cost, settle
from oracle.simulation.engine import (
    ROUND_BUDGET,
    Paid,
    Progress,
    RoundOutcome,
    SimRound,
    initial_stakes,
)


def slot_label(i: int) -> str:
    return f"slot-{i}"


def member_label(j: int) -> str:
    return f"member-{j}"


def round_input(r: SimRound, params: Params, stakes: dict[str, int], budget: int = ROUND_BUDGET) -> RoundInput:
    """The reference model's input for a simulated round (outputs in slot order)."""
    return RoundInput(
        budget=budget,
        slots=len(r.slots),
        committee_size=len(r.committee),
        outputs=tuple(Output(slot_label(i), normalised_cost(r.slots[i].cost, params.inference_cost))
                      for i in r.revealed),
        # No revealed output: the contract draws no committee, so no one scores or is paid.
        committee=tuple(Evaluation(member_label(j), True, m.scores,
                                   normalised_cost(m.cost, params.evaluator_cost))
                        for j, m in enumerate(r.committee)) if r.revealed else (),
        unrevealed_committers=tuple(slot_label(i) for i, s in enumerate(r.slots) if not s.reveals),
        stakes=dict(stakes),
    )


def outcome(settlement: Settlement) -> RoundOutcome:
    """A settlement (the model's, or one decoded from the chain's logs) in slot/member indices
    (labels are ``slot-i`` / ``member-j``), payouts sorted by index and slashes by label."""
    def index(label: str) -> int:
        return int(label.rsplit("-", 1)[1])

    return RoundOutcome(
        inference=tuple(sorted((Paid(index(p.node), p.quality, p.cost, p.reward, p.amount)
                                for p in settlement.inference), key=lambda p: p.index)),
        evaluators=tuple(sorted((Paid(index(p.node), p.agreement, p.cost, p.reward, p.amount)
                                 for p in settlement.evaluators), key=lambda p: p.index)),
        slashes=tuple(sorted(settlement.slashes)),
        paid=settlement.paid,
        refund=settlement.refund,
    )


class ReferenceBackend:
    """Every round through ``oracle.reward.settle``, in order, stakes carried across rounds."""

    name = "reference"

    def run(self, rounds: Sequence[SimRound], params: Params, progress: Progress | None = None
            ) -> list[RoundOutcome]:
        if not rounds:
            return []
        stakes = {slot_label(i): s for i, s in enumerate(initial_stakes(rounds, params))}
        out = []
        for k, r in enumerate(rounds, start=1):
            settlement = settle(round_input(r, params, stakes), params)
            for node, amount in settlement.slashes:
                stakes[node] -= amount
            out.append(outcome(settlement))
            if progress and (k % 250 == 0 or k == len(rounds)):
                progress(k, len(rounds))
        return out
