"""``poq trust``: two evaluator-trust rules under a coordinated group that copies instead of scoring.

M evaluator nodes sit on committees of K; a fraction g of them gives every
output its model's average score, so they always agree with one another. One
output in ten is a probe, a recorded non-answer whose true quality is known.
Under the consensus-distance rule (arXiv 2601.21189) a node's weight grows with
its closeness to the weighted consensus; anchored to ground truth, it grows with
its closeness to the probes' known quality. Both update multiplicatively. For
each g it plays --seeds seeds and prints the copiers' final share of the weight
under each rule; writes trust.csv and trust.png (the share over the rounds, one
seed per line) to --out. Neither rule is in the contract yet: this is the
measurement issue 15 builds on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from poq.options import csv_floats, int_range, out_option, profile_option, profile_pool
from poq.outputs import save_figure, write_csv

DEFAULT_OUT = Path("runs/trust")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trust", help="evaluator trust rules under a group of copiers: consensus vs probes",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    profile_option(p)
    p.add_argument("--evaluators", type=int_range(2, 1_000), default=20, help="evaluator nodes, M (default 20)")
    p.add_argument("--committee", type=int_range(1, 16), default=3, help="evaluators per round, K (default 3)")
    p.add_argument("--groups", type=csv_floats(0.01, 0.99, "group fractions"), default=[0.1, 0.2, 0.3],
                   help="fractions g of the evaluators that copy, comma-separated (default 0.1,0.2,0.3)")
    p.add_argument("--rounds", type=int_range(1, 100_000), default=5_000, help="rounds per seed (default 5000)")
    p.add_argument("--seeds", type=int_range(1, 100), default=10, help="seeds per fraction (default 10)")
    out_option(p, DEFAULT_OUT)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from oracle.errors import UsageError
    from oracle.simulation.trust import trust_shares
    from poq.options import console as wide_console

    console = wide_console()
    if args.committee > args.evaluators:
        raise UsageError(f"--committee {args.committee} exceeds --evaluators {args.evaluators}: give K <= M")
    pool = profile_pool(args)
    traces = {(g, s): trust_shares(pool, evaluators=args.evaluators, group=g, committee=args.committee,
                                   rounds=args.rounds, seed=s)
              for g in args.groups for s in range(args.seeds)}
    table = Table(title=f"the copiers' final share of the weight, {args.seeds} seeds of {args.rounds} rounds, "
                        f"M={args.evaluators}, K={args.committee}")
    for column in ("g", "fair share", "consensus distance: seeds the copiers take > 90%", "median share",
                   "anchored to probes: largest share"):
        table.add_column(column, justify="right")
    rows = []
    for g in args.groups:
        mine = [traces[g, s] for s in range(args.seeds)]
        finals = sorted(t.consensus[-1] for t in mine)
        rows.append({"group": g, "fair": mine[0].fair, "consensus_taken": sum(f > 0.9 for f in finals),
                     "consensus_median": finals[len(finals) // 2], "anchored_max": max(t.anchored[-1] for t in mine)})
        r = rows[-1]
        table.add_row(f"{g:g}", f"{r['fair']:.2f}", f"{r['consensus_taken']} of {args.seeds}",
                      f"{r['consensus_median']:.3f}", f"{r['anchored_max']:.4f}")
    console.print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "trust.csv", ["group", "seed", "rounds", "consensus", "anchored"],
              ({"group": g, "seed": s, "rounds": k, "consensus": c, "anchored": a}
               for (g, s), t in traces.items() for k, c, a in zip(t.rounds, t.consensus, t.anchored, strict=True)))
    _plot(args.out / "trust.png", traces, args.groups)
    console.print(f"written: {args.out / 'trust.csv'}, {args.out / 'trust.png'}")
    return 0


def _plot(path: Path, traces: dict, groups: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(groups), figsize=(4.2 * len(groups), 6), squeeze=False, sharex=True,
                             sharey=True, layout="constrained")
    for col, g in enumerate(groups):
        for row, (rule, label) in enumerate((("consensus", "consensus distance"), ("anchored", "anchored to probes"))):
            ax = axes[row][col]
            for (gg, _), t in traces.items():
                if gg == g:
                    ax.plot(t.rounds, getattr(t, rule), linewidth=0.9, alpha=0.8)
            ax.axhline(g, color="grey", linestyle="--", linewidth=0.8)
            ax.set_title(f"{label}, g={g:g}", fontsize=9)
            ax.set_ylim(-0.02, 1.02)
            if row == 1:
                ax.set_xlabel("rounds")
            if col == 0:
                ax.set_ylabel("copiers' share of the weight")
    fig.suptitle("a group that copies the expected consensus: its weight under two trust rules (dashed: fair share)")
    save_figure(fig, path, dpi=110)
