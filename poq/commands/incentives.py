"""``poq incentives``: does any deviation pay under today's contract, and what would stop it?

Replays the honest rounds of a recorded profile with each deviation: cost
under-reporting (1/2, 1/4, 1/8 of every measure), a lazy answer and a copied
lead sentence (re-scored from the profile's probes), never revealing, a noisy,
boosting, sabotaging or consensus-copying evaluator, and two colluding
evaluators; under mean and median aggregation. For each: the gain in average
normalised reward of everyone it serves (the node, or the coalition) with a
95% interval, the lever that could stop it, and its break-even value. Writes
incentives.csv and incentives.png to --out.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from poq.options import int_range, out_option, profile_option, profile_pool
from poq.outputs import save_figure, write_csv

DEFAULT_OUT = Path("runs/incentives")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("incentives", help="which deviations pay under today's contract, and what would stop them",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    profile_option(p)
    p.add_argument("--rounds", type=int_range(1, 100_000), default=5_000, help="rounds (default 5000)")
    p.add_argument("--slots", type=int_range(1, 64), default=5, help="inference slots per round, n (default 5)")
    p.add_argument("--committee", type=int_range(1, 16), default=3, help="evaluators per round, K (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    p.add_argument("--network", action="store_true",
                   help="also play every deviation by nodes of a network (--inference N, --evaluators M), "
                        "committees drawn by the contract's rule; writes incentives_network.csv")
    p.add_argument("--inference", type=int_range(2, 1_000), default=6,
                   help="with --network: inference nodes, N (default 6)")
    p.add_argument("--evaluators", type=int_range(1, 1_000), default=10,
                   help="with --network: evaluator nodes, M (default 10)")
    out_option(p, DEFAULT_OUT)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:

    from oracle.simulation.adversary import Settlements
    from oracle.simulation.engine import SimulationConfig, draw_rounds
    from oracle.simulation.incentives import check
    from oracle.simulation.reference_backend import ReferenceBackend
    from poq.options import console as wide_console

    console = wide_console()
    if args.network:
        _check_network(args)
    pool = profile_pool(args)
    for note in pool.notes:
        console.print(f"  note: {note}")
    params = pool.default_params(args.slots)
    draws = draw_rounds(pool, SimulationConfig(args.rounds, args.slots, args.committee, args.seed))
    with console.status("settling every deviation under mean and median"):
        rows = check(Settlements(pool, draws, args.seed, ReferenceBackend()), params)
    console.print(_table(f"gain over honest play (average normalised reward, ± 95%), {args.rounds} rounds, "
                         f"n={args.slots}, K={args.committee}", ("lever", "break-even"), rows,
                         lambda r: (r.lever, r.break_even)))
    args.out.mkdir(parents=True, exist_ok=True)
    _write(args.out / "incentives.csv", rows)
    _plot(args.out / "incentives.png", rows)
    console.print(f"written: {args.out / 'incentives.csv'}, {args.out / 'incentives.png'}")
    if args.network:
        _network(args, pool, params, console)
    return 0


def _table(title: str, extra: tuple[str, ...], rows, cells):
    """A deviation per row: who gains, the rule, the gain and whether it pays, then ``cells(row)``."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("deviation", "who gains", "rule", "gain", "pays?", *extra):
        table.add_column(column)
    for r in rows:
        table.add_row(r.deviation, ", ".join(r.gainers), r.rule, f"{r.gain:+.3f} ± {r.ci:.3f}",
                      "[red]yes[/red]" if r.pays else "no", *cells(r))
    return table


def _write(path: Path, rows) -> None:
    write_csv(path, [*asdict(rows[0]), "pays"],
              ({**asdict(r), "gainers": " ".join(r.gainers), "pays": r.pays} for r in rows))


def _check_network(args: argparse.Namespace) -> None:
    """--network's sizes, checked before any work."""
    from oracle.errors import UsageError

    if args.committee > args.evaluators:
        raise UsageError(f"--committee {args.committee} exceeds --evaluators {args.evaluators}: give K <= M")
    if args.slots > args.inference:
        raise UsageError(f"--slots {args.slots} exceeds --inference {args.inference}: give n <= N")


def _network(args: argparse.Namespace, pool, params, console) -> None:
    """The same deviations played by nodes of a network: the setting issue 15 states its targets in."""
    from rich.table import Table

    from oracle.simulation.network_incentives import check_network
    from oracle.simulation.targets import judge

    with console.status(f"playing every deviation in a network of {args.inference} + {args.evaluators} nodes"):
        rows = check_network(pool, params, inference=args.inference, evaluators=args.evaluators, slots=args.slots,
                             committee=args.committee, rounds=args.rounds, seed=args.seed)
    console.print(_table(f"in a network: N={args.inference}, M={args.evaluators}, n={args.slots}, "
                         f"K={args.committee}, {args.rounds} rounds; each deviation by its nodes, the rest honest",
                         ("partner's gain", "worst honest loss"), rows,
                         lambda r: ("" if r.partner_gain is None else f"{r.partner_gain:+.3f}",
                                    f"{r.worst_honest_loss:+.3f}")))
    _write(args.out / "incentives_network.csv", rows)
    targets = judge(rows)
    table = Table(title="issue 15's targets on this network")
    for column in ("target", "rule", "measured", "met?"):
        table.add_column(column)
    for t in targets:
        table.add_row(t.target, t.rule, t.measured, "yes" if t.met else "[red]no[/red]")
    console.print(table)
    write_csv(args.out / "targets.csv", ["target", "rule", "measured", "met"], (asdict(t) for t in targets))
    console.print(f"written: {args.out / 'incentives_network.csv'}, {args.out / 'targets.csv'}")


def _plot(path: Path, rows) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r.deviation for r in rows))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.5))
    for offset, rule in ((-0.18, "mean"), (0.18, "median")):
        mine = {r.deviation: r for r in rows if r.rule == rule}
        ys = [i + offset for i in range(len(names))]
        ax.barh(ys, [mine[n].gain for n in names], height=0.34, xerr=[mine[n].ci for n in names], label=rule,
                capsize=2)
    ax.axvline(0.01, color="grey", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("gain over honest play (average normalised reward); dashed: the 0.01 tolerance")
    ax.set_title("Which deviations pay under today's contract")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
