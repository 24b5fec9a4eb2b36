"""The incentive check on a network of nodes: each deviation played by one node (or a group) among many.

``incentives.check`` plays the deviations at the profile level, where each
profile identity is one node and two colluding evaluators are half the
evaluator kinds. Issue 15 states its targets on a network instead: at least 10
evaluator nodes, committees of K = 3. Here every deviation of
``incentives.deviations`` is played by the nodes of a population
(``network``) that stand for its adversaries: the partner (inference node 0,
which plays the weakest model) for an inference deviation, the first
evaluator node of each adversary kind for an evaluator deviation (two of ten
nodes for the colluding pair: f = 0.2), and the first node playing the
strongest model as the saboteur's target. Every other node is honest, the
draws are those of the honest network (the same seed), and committees are drawn
by the contract's rule.

The gain of a deviation is the paired change, over the rounds each gainer plays,
of its normalised reward, summed over the gainers (the deviators and the
partner they serve), with a 95% interval (the gainers' intervals in
quadrature). An inference deviator stakes enough never to be slashed out, so it
plays the same rounds in both runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from oracle.protocol.params import Aggregation, Params
from oracle.simulation.incentives import deviations
from oracle.simulation.network import NetworkConfig, rewards_by_node, run_reference
from oracle.simulation.population import TOLERANCE, Population, build_population
from oracle.simulation.record_pool import ProfilePool
from oracle.simulation.scenarios import ConsensusCopier, FixedScore, Scenario
from oracle.simulation.stats import paired

# An inference deviator's stake, in minimum stakes: enough never to fall out of the slot draws.
DEVIATOR_STAKES = 10**6

@dataclass(frozen=True)
class NetworkIncentive:
    deviation: str
    description: str
    gainers: tuple[str, ...]  # node names
    rule: str
    gain: float  # the gainers' summed change
    ci: float
    partner_gain: float | None  # the partner's own change, for a deviation that serves it (None otherwise)
    worst_honest_loss: float  # the most negative change of any node outside the gainers (0 if none lost)

    @property
    def pays(self) -> bool:
        return self.gain - self.ci > TOLERANCE


def _node_scenario(dev: Scenario, population: Population) -> Scenario:
    """``dev`` with its identities replaced by the nodes that play them here."""
    first: dict[str, str] = {}
    for n in (*population.evaluators, *population.inference):
        first.setdefault(n.identity, n.name)
    partner = population.partner
    inference = {n.identity for n in population.inference}
    node = replace(dev, adversaries=tuple(partner.name if a in inference else first[a] for a in dev.adversaries),
                   beneficiary=partner.name if dev.beneficiary else None)
    if isinstance(node, FixedScore):
        return replace(node, target=partner.name if node.target == partner.identity else first[node.target])
    if isinstance(node, ConsensusCopier):
        expected = dict(node.means)
        return replace(node, means=tuple((n.name, expected[n.identity]) for n in population.inference))
    return node


def check_network(pool: ProfilePool, params: Params, *, inference: int = 6, evaluators: int = 10, slots: int = 5,
                  committee: int = 3, rounds: int = 5_000, seed: int = 0,
                  devs: Sequence[Scenario] | None = None) -> list[NetworkIncentive]:
    """Every deviation under mean and median aggregation, played by nodes of an otherwise honest network."""
    base = build_population(pool, inference, evaluators, 0.0, seed)
    partner = replace(base.partner, stake=DEVIATOR_STAKES * params.min_stake)
    population = Population((partner, *base.inference[1:]), base.evaluators)
    config = NetworkConfig(rounds, slots, committee, seed=seed, draw="seeded")
    rows = []
    honest: dict[Aggregation, dict[str, dict[int, float]]] = {}
    for dev in devs if devs is not None else deviations(pool):
        node = _node_scenario(dev, population)
        gainers = tuple(dict.fromkeys([*node.adversaries, *([node.beneficiary] if node.beneficiary else [])]))
        for how in (Aggregation.MEAN, Aggregation.MEDIAN):
            p = params.with_(aggregation=how)
            if how not in honest:
                honest[how] = rewards_by_node(run_reference(pool, population, p, config))
            deviant = rewards_by_node(run_reference(pool, population, p, config, deviation=node))
            change = {n.name: paired(honest[how].get(n.name, {}), deviant.get(n.name, {}))
                      for n in (*population.inference, *population.evaluators)}
            rows.append(NetworkIncentive(
                dev.name, dev.description, gainers, how.name.lower(), sum(change[g][0] for g in gainers),
                math.sqrt(sum(change[g][1] ** 2 for g in gainers)),
                change[node.beneficiary][0] if node.beneficiary else None,
                min([0.0, *(c for name, (c, _) in change.items() if name not in gainers)])))
    return rows
