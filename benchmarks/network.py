"""Benchmark of the network model (issue 14): population rounds per second, and sweeps on 1 and 2 workers.

Measures, on one profile and seed:

- a population run: N inference and M evaluator nodes (default M = 200), a
  fifth of the evaluators colluding, ``--rounds`` rounds drawn, played and
  settled through the reference model on one core; rounds per second, median
  of ``--repeat`` runs;
- the same population with per-node state (``oracle.simulation.network``): one
  inference node silent and a tenth of the evaluators absent, so slashes lower
  stakes and the stake-weighted draw follows them, committees drawn by the
  seeded draw; rounds per second, median of ``--repeat`` runs;
- that population on the contract on Anvil (``--anvil-evaluators`` registered
  evaluators, default 100, committees drawn by the contract and checked to the
  wei), its transactions per second against raw transfers sent and mined the
  same way, in the same run;
- a sweep of ``--points`` grid points of ``--sweep-rounds`` rounds each, run
  on 1 and then 2 local processes, and on a local Ray of 1 and then 2 CPUs, in
  the same run; the wall times, the speed-up of 2 workers over 1, and what a
  1,000-point sweep of 5,000 rounds would take at the measured rate.

    .venv/bin/python benchmarks/network.py [--profile PATH] [--evaluators 200] [--points 12] [--only NAME]

Timings on a shared machine are noisy: compare the ratios of one run, not the seconds of two.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from simulate import raw_transfers

from oracle.simulation.anvil_network import AnvilNetwork
from oracle.simulation.network import NetworkConfig, run_reference
from oracle.simulation.population import Population, build_population, draw, play, rewards_by_round
from oracle.simulation.record_pool import DEFAULT_PROFILE, load_pool
from oracle.simulation.sweep import Grid, Network, sweep


def population_rate(profile: Path, inference: int, evaluators: int, slots: int, committee: int, rounds: int,
                    seed: int) -> float:
    """Rounds per second of one population run: draws, play and settlement, on this core."""
    pool = load_pool(profile)
    params = pool.default_params(slots)
    start = time.perf_counter()
    population = build_population(pool, inference, evaluators, 0.2, seed)
    draws = draw(pool, inference, evaluators, slots, committee, rounds, seed)
    rewards_by_round(play(pool, population, draws), params)
    return rounds / (time.perf_counter() - start)


def stateful_population(pool, inference: int, evaluators: int, seed: int) -> Population:
    """A fifth of the evaluators colluding, a tenth absent (slashed out), inference node 1 silent."""
    params = pool.default_params(5)
    pop = build_population(pool, inference, evaluators, 0.2, seed)
    inf = list(pop.inference)
    inf[1] = replace(inf[1], behaviour="silent", stake=10 * params.min_stake)
    evs = [replace(e, behaviour="absent") if j % 10 == 9 and e.behaviour == "honest" else e
           for j, e in enumerate(pop.evaluators)]
    return Population(tuple(inf), tuple(evs))


def network_rate(profile: Path, inference: int, evaluators: int, slots: int, committee: int, rounds: int,
                 seed: int) -> float:
    """Rounds per second of the stateful population through the reference, seeded stake-weighted draw."""
    pool = load_pool(profile)
    params = pool.default_params(slots)
    population = stateful_population(pool, inference, evaluators, seed)
    start = time.perf_counter()
    run_reference(pool, population, params, NetworkConfig(rounds, slots, committee, seed=seed, draw="seeded"))
    return rounds / (time.perf_counter() - start)


def anvil_network(profile: Path, inference: int, evaluators: int, slots: int, committee: int, rounds: int,
                  epoch: int, seed: int) -> tuple[float, float, int]:
    """(network tx/s on Anvil, raw-transfer tx/s sent the same way, transactions) in one run."""
    pool = load_pool(profile)
    params = pool.default_params(slots)
    population = stateful_population(pool, inference, evaluators, seed)
    backend = AnvilNetwork()
    backend.run(pool, population, params, NetworkConfig(rounds, slots, committee, epoch=epoch, seed=seed))
    txs = int(backend.stats["transactions"])
    raw = raw_transfers(txs, epoch * slots, inference + evaluators + 1)
    return backend.stats["tx_per_s"], raw, txs


def sweep_seconds(network: Network, grid: Grid, *, workers: int, use_ray: bool) -> float:
    """Wall seconds of the whole grid into a fresh folder (nothing to resume), on ``workers`` processes or CPUs."""
    with tempfile.TemporaryDirectory() as out:
        if use_ray:
            import ray

            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            try:
                start = time.perf_counter()
                sweep(network, grid, Path(out), use_ray=True)
                return time.perf_counter() - start
            finally:
                ray.shutdown()
        start = time.perf_counter()
        sweep(network, grid, Path(out), workers=workers)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE)
    parser.add_argument("--inference", type=int, default=20)
    parser.add_argument("--evaluators", type=int, default=200)
    parser.add_argument("--slots", type=int, default=5)
    parser.add_argument("--committee", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--points", type=int, default=12, help="sweep points (a multiple of 6: K x f)")
    parser.add_argument("--sweep-rounds", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--anvil-evaluators", type=int, default=100)
    parser.add_argument("--anvil-rounds", type=int, default=2_000)
    parser.add_argument("--epoch", type=int, default=250, help="rounds per epoch on Anvil (default 250)")
    parser.add_argument("--only", choices=("population", "network", "anvil", "sweeps"), help="run one part")
    args = parser.parse_args()
    if args.only in (None, "population"):
        population(args)
    if args.only in (None, "network"):
        rates = [network_rate(args.profile, args.inference, args.evaluators, args.slots, args.committee,
                              args.rounds, args.seed) for _ in range(args.repeat)]
        print(f"network (per-node state) N={args.inference} M={args.evaluators} n={args.slots} K={args.committee}, "
              f"{args.rounds} rounds: {statistics.median(rates):,.0f} rounds/s median "
              f"({', '.join(f'{r:,.0f}' for r in rates)})")
    if args.only in (None, "anvil"):
        runs = [anvil_network(args.profile, args.inference, args.anvil_evaluators, args.slots, args.committee,
                              args.anvil_rounds, args.epoch, args.seed) for _ in range(args.repeat)]
        ratios = [tx / raw for tx, raw, _ in runs]
        print(f"network on Anvil, M={args.anvil_evaluators} registered evaluators, {args.anvil_rounds} rounds "
              f"({runs[0][2]:,} transactions): {statistics.median(tx for tx, _, _ in runs):,.0f} tx/s median, raw "
              f"transfers {statistics.median(raw for _, raw, _ in runs):,.0f} tx/s; ratio median "
              f"{statistics.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)})")
    if args.only in (None, "sweeps"):
        sweeps(args)


def population(args: argparse.Namespace) -> None:
    rates = [population_rate(args.profile, args.inference, args.evaluators, args.slots, args.committee,
                             args.rounds, args.seed) for _ in range(args.repeat)]
    print(f"population N={args.inference} M={args.evaluators} n={args.slots} K={args.committee}, {args.rounds} "
          f"rounds: {statistics.median(rates):,.0f} rounds/s median ({', '.join(f'{r:,.0f}' for r in rates)})")



def sweeps(args: argparse.Namespace) -> None:
    fractions = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    committees = tuple(range(3, 3 + 2 * max(1, args.points // len(fractions)), 2))
    grid = Grid((1.0,), (0.3,), committees, (args.slots,), ("median",), fractions)
    network = Network(str(args.profile), args.inference, 30, args.sweep_rounds, args.seed)
    points = len(grid.points())
    for label, use_ray in (("local processes", False), ("local Ray", True)):
        one = sweep_seconds(network, grid, workers=1, use_ray=use_ray)
        two = sweep_seconds(network, grid, workers=2, use_ray=use_ray)
        per_point_round = two / (points * args.sweep_rounds)
        print(f"sweep of {points} points x {args.sweep_rounds} rounds on {label}: 1 worker {one:.1f} s, "
              f"2 workers {two:.1f} s, speed-up {one / two:.2f}; a 1,000-point sweep of 5,000 rounds at the "
              f"2-worker rate: {per_point_round * 1_000 * 5_000 / 60:.1f} min")


if __name__ == "__main__":
    main()
