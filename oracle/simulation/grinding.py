"""The last revealer's grind on the committee seed, and the slash that makes it lose.

The contract draws a round's committee from a seed that mixes the revealed
salts, so no single node picks the committee. But the last inference node to
reveal has seen every other salt: it knows the committee its reveal will draw
and the one its silence will draw instead (the round then draws after its
reveal deadline, without its salt). The colluders' accomplice (a ``grind``
node, ``network``) withholds whenever that pays the coalition: when the
partner's payout under the second committee exceeds its payout under the first
by more than the accomplice forfeits, its own payout and the slash. It knows
every output and every member's scores, so this is an upper bound on the attack.

``grinding`` plays the same population with the accomplice honest and then
grinding, at each slash amount asked (the same draws: a grinder's alternative
committee comes from a generator of its own, so the rest of the network draws
what it draws with nobody grinding), and reports per round
of the run, in normalised reward units (one unit is a slot's full payout,
``inference pool / n``): the partner's gain, the accomplice's change (its
forfeited payouts and its slashes), and the coalition's gain with its 95%
interval. ``break_even`` is the smallest slash asked at which the coalition
gains nothing, within that interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from oracle.protocol.params import Params
from oracle.protocol.reward import split_budget
from oracle.simulation.engine import ROUND_BUDGET
from oracle.simulation.network import NetworkConfig, NetworkRun, run_reference
from oracle.simulation.population import Population, PopulationError, build_population
from oracle.simulation.record_pool import ProfilePool
from oracle.simulation.reference_backend import label_index
from oracle.simulation.stats import mean_ci

# The accomplice's stake, in minimum stakes: enough never to drop out of the draws in a run.
ACCOMPLICE_STAKES = 10**6


@dataclass(frozen=True)
class GrindPoint:
    fraction: float
    slash: int  # wei per withheld reveal
    withheld: int  # rounds the accomplice withheld its reveal in
    partner_gain: float  # per round of the run, in units of a slot's full payout
    accomplice_change: float  # its forfeited payouts and slashes, per round of the run (<= 0)
    coalition_gain: float
    coalition_ci: float  # 95% half-width


def _wei(run: NetworkRun, names: set[str]) -> list[int]:
    """Per round: the wei ``names`` were paid in it, less the wei they were slashed."""
    numbers = {label_index(n) for n in names}
    return [sum(p.amount for p in o.inference if p.index in numbers) - sum(a for n, a in o.slashes if n in names)
            for o in run.outcomes]


def grinding(pool: ProfilePool, params: Params, *, inference: int, evaluators: int, slots: int, committee: int,
             fraction: float, slashes: Sequence[int], rounds: int, seed: int = 0,
             draw: str = "seeded") -> list[GrindPoint]:
    """The coalition's gain from an accomplice grinding the committee seed for its partner, per slash amount.

    Inference node 0 is the partner (the weakest model, as in ``population``); node 1 is the accomplice."""
    if inference < 2:
        raise PopulationError(f"N={inference}: grinding needs the partner and an accomplice: give N >= 2")
    if not slashes:
        raise PopulationError("no slash amounts: give at least one, e.g. 0.5 ETH")
    base = build_population(pool, inference, evaluators, fraction, seed)
    partner, accomplice = base.inference[0], replace(base.inference[1], stake=ACCOMPLICE_STAKES * params.min_stake)

    def played(behaviour: str, p: Params) -> NetworkRun:
        population = Population((partner, replace(accomplice, behaviour=behaviour), *base.inference[2:]),
                                base.evaluators)
        return run_reference(pool, population, p, NetworkConfig(rounds, slots, committee, seed=seed, draw=draw))

    unit = split_budget(ROUND_BUDGET, params)[0] // slots
    plain = played("honest", params)
    plain_partner, plain_accomplice = _wei(plain, {partner.name}), _wei(plain, {accomplice.name})
    points = []
    for slash in slashes:
        ground = played("grind", params.with_(slash_amount=slash))
        gain_partner = [g - h for g, h in zip(_wei(ground, {partner.name}), plain_partner, strict=True)]
        change = [g - h for g, h in zip(_wei(ground, {accomplice.name}), plain_accomplice, strict=True)]
        mean, ci = mean_ci([(a + b) / unit for a, b in zip(gain_partner, change, strict=True)])
        withheld = sum(1 for o in ground.outcomes for n, _ in o.slashes if n == accomplice.name)
        points.append(GrindPoint(fraction, slash, withheld, sum(gain_partner) / unit / rounds,
                                 sum(change) / unit / rounds, mean, ci))
    return points


def break_even(points: Sequence[GrindPoint]) -> int | None:
    """The smallest slash at which the coalition gains nothing within its 95% interval (None: none asked)."""
    for p in sorted(points, key=lambda p: p.slash):
        if p.coalition_gain - p.coalition_ci <= 0:
            return p.slash
    return None
