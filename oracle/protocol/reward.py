"""The reference model of PoQ settlement: the contract's math, in plain integers.

No I/O and no chain: given a round's revealed data, it returns the wei the
contract's ``settle`` credits. Every operation mirrors ``contracts/RewardMath.sol``
and ``PoQ.settle`` (WAD fixed point, floor division, the same order), so the two
agree to the wei for any inputs; the tests check exactly that.

Beyond the paper's reward, settlement holds nodes to their part: a node that committed
and did not reveal, and a drawn evaluator that never committed, lose ``min(slash, stake)``;
a requester that withheld its reference forfeits each pool's unpaid remainder to the nodes
that did their part; a round that no evaluator scored gives the evaluator pool to the
revealed outputs (``compensation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from oracle.protocol.params import WAD, Aggregation, CostModel, Params


@dataclass(frozen=True)
class Cost:
    """A cost attestation: latency (ms), tokens, peak memory (MB); each fits in uint64."""

    latency_ms: int
    tokens: int
    memory_mb: int

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.latency_ms, self.tokens, self.memory_mb)

    @classmethod
    def measured(cls, latency_ms: float, tokens: int, peak_memory_mb: float) -> Cost:
        """A measured cost as the integer attestation a node sends: at least 1 ms and 1 MB, since
        no real work is free. The daemons and the simulation both attest through here."""
        return cls(latency_ms=max(1, round(latency_ms)), tokens=int(tokens), memory_mb=max(1, round(peak_memory_mb)))


def mul_wad(x: int, y: int) -> int:
    """``x * y // WAD``, rounded down."""
    return x * y // WAD


def normalised_cost(cost: Cost, model: CostModel) -> int:
    """``min(WAD, sum_k w_k * x_k // ref_k)``: each term floored, then capped."""
    total = (model.w_latency * cost.latency_ms // model.ref_latency_ms
             + model.w_tokens * cost.tokens // model.ref_tokens
             + model.w_memory * cost.memory_mb // model.ref_memory_mb)
    return min(total, WAD)


def mean(xs: Sequence[int]) -> int:
    return sum(xs) // len(xs)


def median(xs: Sequence[int]) -> int:
    """Middle value; for an even count the floor of the mean of the two middle ones."""
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) // 2


def aggregate(xs: Sequence[int], how: Aggregation) -> int:
    return median(xs) if how == Aggregation.MEDIAN else mean(xs)


def linear_reward(alpha: int, quality: int, beta: int, cost: int) -> int:
    """``max(0, mul_wad(alpha, quality) - mul_wad(beta, cost))``."""
    return max(0, mul_wad(alpha, quality) - mul_wad(beta, cost))


def agreement(scores: Sequence[int], quality: Sequence[int]) -> int:
    """``WAD - sum_i |s_i - q_i| // n``: closeness of one evaluator to the consensus."""
    deviation = sum(abs(s - q) for s, q in zip(scores, quality, strict=True))
    return WAD - deviation // len(quality)


def payout(pool: int, shares: int, reward: int) -> int:
    """``pool // shares * reward // WAD``: one share of a pool, scaled by a WAD reward."""
    return pool // shares * reward // WAD


def split_budget(budget: int, params: Params) -> tuple[int, int]:
    """(inference pool, evaluator pool) as ``openRound`` splits ``budget``."""
    inference = budget * params.inference_share // WAD
    return inference, budget - inference


@dataclass(frozen=True)
class Output:
    """A revealed output. Outputs come in the order of every score list: on chain, ascending node address."""

    node: str
    cost: int  # normalised, WAD


@dataclass(frozen=True)
class Evaluation:
    """A drawn committee member, in the committee's order (on chain, ascending address).

    ``scores`` is None if it did not reveal; ``committed`` False means it never committed (absent).
    """

    node: str
    committed: bool
    scores: tuple[int, ...] | None
    cost: int = 0  # normalised, WAD; meaningful only when revealed


@dataclass(frozen=True)
class RoundInput:
    """Everything ``settle`` reads about one round."""

    budget: int
    slots: int
    committee_size: int
    outputs: tuple[Output, ...]
    committee: tuple[Evaluation, ...]
    unrevealed_committers: tuple[str, ...] = ()
    stakes: dict[str, int] = field(default_factory=dict)  # stake of each slashable node
    reference_withheld: bool = False  # the round had a reference commitment that was never revealed


@dataclass(frozen=True)
class InferencePayout:
    node: str
    quality: int
    cost: int
    reward: int
    amount: int


@dataclass(frozen=True)
class EvaluatorPayout:
    node: str
    agreement: int
    cost: int
    reward: int
    amount: int


@dataclass(frozen=True)
class Settlement:
    """What ``settle`` credits: payouts, compensation from forfeited pools, slashes (to the owner)
    and the requester's refund (``paid`` counts payouts and compensation)."""

    inference: tuple[InferencePayout, ...]
    evaluators: tuple[EvaluatorPayout, ...]
    slashes: tuple[tuple[str, int], ...]
    paid: int
    refund: int
    compensation: tuple[tuple[str, int], ...] = ()


def quality_of(round_: RoundInput, how: Aggregation) -> list[int]:
    """Each output's quality; all zero when no evaluator revealed (no quality reward)."""
    revealed = [e.scores for e in round_.committee if e.scores is not None]
    if not revealed:
        return [0] * len(round_.outputs)
    return [aggregate([s[i] for s in revealed], how) for i in range(len(round_.outputs))]


def compensate(to: Sequence[str], amount: int) -> list[tuple[str, int]]:
    """``amount`` split equally among ``to``, each ``amount // len(to)``; the dust stays with the refund."""
    if not to or amount == 0 or amount // len(to) == 0:
        return []
    return [(node, amount // len(to)) for node in to]


def settle(round_: RoundInput, params: Params) -> Settlement:
    """The contract's ``settle`` for one round, returning the same wei."""
    inference_pool, evaluator_pool = split_budget(round_.budget, params)
    quality = quality_of(round_, params.aggregation)
    withheld = round_.reference_withheld and bool(round_.outputs)

    def slash(node: str) -> tuple[str, int]:
        return node, min(params.slash_amount, round_.stakes.get(node, params.min_stake))

    slashes = [slash(n) for n in round_.unrevealed_committers]
    inference = []
    for out, q in zip(round_.outputs, quality, strict=True):
        reward = linear_reward(params.alpha_inference, q, params.beta_inference, out.cost)
        inference.append(InferencePayout(out.node, q, out.cost, reward,
                                         payout(inference_pool, round_.slots, reward)))
    evaluators = []
    for ev in round_.committee:
        if ev.scores is not None:
            a = agreement(ev.scores, quality)
            reward = linear_reward(params.alpha_evaluator, a, params.beta_evaluator, ev.cost)
            evaluators.append(EvaluatorPayout(ev.node, a, ev.cost, reward,
                                              payout(evaluator_pool, round_.committee_size, reward)))
        elif ev.committed or not withheld:  # silent after committing, or absent though the reference came
            slashes.append(slash(ev.node))
    paid_inference = sum(p.amount for p in inference)
    paid_evaluators = sum(p.amount for p in evaluators)
    compensation: list[tuple[str, int]] = []
    scored = any(ev.scores is not None for ev in round_.committee)
    if withheld or not scored:
        outputs = [o.node for o in round_.outputs]
        if withheld:
            compensation += compensate(outputs, inference_pool - paid_inference)
        doers = [p.node for p in evaluators]
        compensation += compensate(doers or outputs, evaluator_pool - paid_evaluators)
    paid = paid_inference + paid_evaluators + sum(amount for _, amount in compensation)
    return Settlement(tuple(inference), tuple(evaluators), tuple(slashes), paid, round_.budget - paid,
                      tuple(compensation))
