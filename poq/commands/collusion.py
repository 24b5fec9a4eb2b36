"""``poq collusion``: how much a colluding group of evaluator nodes gains, against its share of the network.

A population of N inference and M evaluator nodes plays rounds drawn from a
recorded profile (each node plays one of the profile's models or evaluators).
A fraction f of the evaluator nodes colludes: they score every output of their
partner (the inference node that plays the weakest model) 1.0. For each
aggregation rule and committee size K, it prints the partner's gain over the
honest network (paired: the same rounds at f = 0), the worst honest loss, and
the share of committees with a colluding majority, measured and analytical
(hypergeometric); and the breakdown fraction f*, the smallest f at which the
partner gains more than 0.01 with 95% confidence. Writes collusion.csv and
collusion.png to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from poq.options import csv_floats, csv_ints, int_range, names, out_option, profile_option, profile_pool
from poq.outputs import save_figure, write_csv

DEFAULT_OUT = Path("runs/collusion")
DEFAULT_FRACTIONS = "0,0.1,0.2,0.3,0.4,0.5"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("collusion", help="collusion curves: a colluding evaluator group's gain against its share",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    profile_option(p)
    p.add_argument("--inference", type=int_range(1, 10_000), default=6, help="inference nodes, N (default 6)")
    p.add_argument("--evaluators", type=int_range(1, 10_000), default=30, help="evaluator nodes, M (default 30)")
    p.add_argument("--slots", type=int_range(1, 64), default=5, help="inference slots per round, n (default 5)")
    p.add_argument("--committees", type=csv_ints(low=1, high=16, example="3,5,7"), default=[3, 5, 7],
                   help="committee sizes K, comma-separated (default 3,5,7)")
    p.add_argument("--fractions", type=csv_floats(0, 1, "colluding fractions"), default=[0, 0.1, 0.2, 0.3, 0.4, 0.5],
                   help=f"colluding fractions f in [0, 1], comma-separated (default {DEFAULT_FRACTIONS})")
    p.add_argument("--rules", type=names(("mean", "median"), what="aggregation rules"), default=["mean", "median"],
                   help="aggregation rules (default mean,median)")
    p.add_argument("--rounds", type=int_range(1, 100_000), default=2_000, help="rounds per point (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws and of who colludes (default 0)")
    out_option(p, DEFAULT_OUT)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress
    from rich.table import Table

    from oracle.errors import UsageError
    from oracle.simulation.population import breakdown_fraction, collusion_curve, with_aggregation
    from poq.options import console as wide_console

    console = wide_console()
    pool = profile_pool(args)
    fractions, committees, rules = args.fractions, args.committees, args.rules
    params = pool.default_params(args.slots)
    curves = {}
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("collusion curves", total=len(rules) * len(committees))
        for rule in rules:
            for k in committees:
                if k > args.evaluators:
                    raise UsageError(f"K={k} exceeds the M={args.evaluators} evaluator nodes: give K <= M")
                curves[(rule, k)] = collusion_curve(pool, with_aggregation(params, rule), inference=args.inference,
                                                    evaluators=args.evaluators, slots=args.slots, committee=k,
                                                    fractions=fractions, rounds=args.rounds, seed=args.seed)
                bar.advance(task)
    table = Table(title=f"partner's gain (± 95%) by colluding fraction f: N={args.inference}, M={args.evaluators}, "
                        f"n={args.slots}, {args.rounds} rounds per point; majority: measured / analytical")
    table.add_column("rule, K")
    for f in fractions:
        table.add_column(f"f={f:g}", justify="right")
    table.add_column("f*", justify="right")
    for (rule, k), points in curves.items():
        cells = [f"{p.partner_gain:+.3f}±{p.partner_ci:.3f}\n{p.majority_measured:.2f} / {p.majority_analytical:.2f}"
                 for p in points]
        star = breakdown_fraction(points)
        table.add_row(f"{rule}, K={k}", *cells, "never" if star is None else f"{star:g}")
    console.print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    fields = ["aggregation", "committee", "fraction", "colluders", "partner_gain", "partner_ci",
              "worst_honest_loss", "majority_measured", "majority_analytical"]
    write_csv(args.out / "collusion.csv", fields,
              ({name: getattr(p, name) for name in fields} for points in curves.values() for p in points))
    _plot(args.out / "collusion.png", curves)
    console.print(f"written: {args.out / 'collusion.csv'}, {args.out / 'collusion.png'}")
    return 0


def _plot(path: Path, curves: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rules = sorted({rule for rule, _ in curves})
    fig, axes = plt.subplots(1, len(rules), figsize=(6 * len(rules), 4.5), squeeze=False)
    for ax, rule in zip(axes[0], rules, strict=True):
        twin = ax.twinx()
        for (r, k), points in sorted(curves.items()):
            if r != rule:
                continue
            xs = [p.fraction for p in points]
            line = ax.errorbar(xs, [p.partner_gain for p in points], yerr=[p.partner_ci for p in points],
                               marker="o", capsize=3, label=f"gain, K={k}")
            twin.plot(xs, [p.majority_analytical for p in points], linestyle=":",
                      color=line[0].get_color(), label=f"P(colluding majority), K={k}")
        ax.axhline(0.01, color="grey", linewidth=0.8, linestyle="--")
        ax.set_title(f"{rule} aggregation")
        ax.set_xlabel("colluding fraction f of evaluator nodes")
        ax.set_ylabel("partner's gain in average normalised reward")
        twin.set_ylabel("analytical P(colluding majority) (dotted)")
        twin.set_ylim(0, 1)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
