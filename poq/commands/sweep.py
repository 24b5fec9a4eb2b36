"""``poq sweep``: a grid over alpha, beta, K, n, aggregation and the colluding fraction f, drawn as guarantee maps.

Each point plays the network model of ``poq collusion`` (N inference and M
evaluator nodes, a colluding fraction f of the evaluators lifting a partner)
through the reference model and records the partner's gain over the honest
network. Points run on every local core (``--workers``), or on a Ray cluster
(``--ray ADDRESS``, or ``--ray local`` for a Ray started here). Rows go to
sweep.jsonl as they finish, so an interrupted sweep resumes with the points it
lacks; sweep.csv, sweep.parquet and guarantee_map.png (the gain over f and K, one panel per
rule and beta, at the first alpha and n; a point is safe where the gain stays
within 0.01 with 95% confidence) are written at the end. With --grind, every
point also plays the colluders' accomplice grinding the committee seed (it
withholds its reveal when the committee drawn without its salt pays the
coalition more than the slash it takes), at every --slash amount, and
grinding.png draws the coalition's gain against the slash.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from poq.options import csv_floats, csv_ints, int_range, names, out_option, profile_option
from poq.outputs import save_figure, write_csv, write_parquet

DEFAULT_OUT = Path("runs/sweep")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="a parameter grid over the network model, on local cores or Ray",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    profile_option(p)
    p.add_argument("--alpha", type=csv_floats(0, 1, "alpha"), default=[1.0], help="alpha values (default 1)")
    p.add_argument("--beta", type=csv_floats(0, 1, "beta"), default=[0.1, 0.3, 0.5],
                   help="beta values (default 0.1,0.3,0.5)")
    p.add_argument("--committee", type=csv_ints(low=1, high=16, example="3,5,7"), default=[3, 5, 7],
                   help="committee sizes K (default 3,5,7)")
    p.add_argument("--slots", type=csv_ints(low=1, high=64, example="5"), default=[5], help="slots n (default 5)")
    p.add_argument("--aggregation", type=names(("mean", "median"), what="aggregation rules"),
                   default=["mean", "median"], help="aggregation rules (default mean,median)")
    p.add_argument("--fraction", type=csv_floats(0, 0.99, "colluding fractions"), default=[0, 0.1, 0.2, 0.3, 0.4, 0.5],
                   help="colluding fractions f (default 0,0.1,...,0.5)")
    p.add_argument("--slash", type=csv_floats(0, 1000, "slash amounts (ETH)"), default=[0.5],
                   help="slash amounts in ETH (default 0.5, the contract's default); several need --grind")
    p.add_argument("--grind", action="store_true",
                   help="also play the colluders' accomplice grinding the committee seed at every slash amount, "
                        "and draw grinding.png")
    p.add_argument("--inference", type=int_range(1, 10_000), default=6, help="inference nodes, N (default 6)")
    p.add_argument("--evaluators", type=int_range(1, 10_000), default=30, help="evaluator nodes, M (default 30)")
    p.add_argument("--rounds", type=int_range(1, 100_000), default=1_000, help="rounds per point (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of every point's draws (default 0)")
    p.add_argument("--workers", type=int_range(1, 1024), default=None, help="local processes (default: every core)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="run the points on the Ray cluster at ADDRESS (e.g. ray://head:10001), or 'local'")
    out_option(p, DEFAULT_OUT)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from oracle.simulation.record_pool import DEFAULT_PROFILE
    from oracle.simulation.sweep import Grid, Network, sweep
    from poq.options import console as wide_console

    console = wide_console()
    network = Network(str(args.profile or DEFAULT_PROFILE), args.inference, args.evaluators, args.rounds, args.seed,
                      grind=args.grind)
    grid = Grid(tuple(args.alpha), tuple(args.beta), tuple(args.committee), tuple(args.slots),
                tuple(args.aggregation), tuple(args.fraction), tuple(args.slash))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("sweep points", total=None)
        rows = sweep(network, grid, args.out, workers=args.workers, use_ray=args.ray is not None,
                     ray_address=None if args.ray in (None, "local") else args.ray,
                     progress=lambda done, total: bar.update(task, completed=done, total=total))
    write_csv(args.out / "sweep.csv", list(rows[0]), rows)
    write_parquet(args.out / "sweep.parquet", rows)
    _guarantee_map(args.out / "guarantee_map.png", rows)
    written = [args.out / name for name in ("sweep.csv", "sweep.parquet", "guarantee_map.png")]
    if args.grind:
        _grinding_plot(args.out / "grinding.png", rows)
        written.append(args.out / "grinding.png")
    from oracle.simulation.population import TOLERANCE

    safe = sum(r["partner_gain"] - r["partner_ci"] <= TOLERANCE for r in rows)
    console.print(f"{len(rows)} points, {safe} safe (partner's gain within {TOLERANCE} at 95%); written: "
                  + ", ".join(str(w) for w in written))
    if args.grind:
        paying = [r for r in rows if r["grind_gain"] - r["grind_ci"] > 0]
        console.print(f"grinding the committee seed pays the coalition at {len(paying)} of {len(rows)} points"
                      + (f", at slashes up to {max(r['slash'] for r in paying):g} ETH" if paying else ""))
    return 0


def _guarantee_map(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from oracle.simulation.population import TOLERANCE

    alpha, slots = rows[0]["alpha"], rows[0]["slots"]
    mine = [r for r in rows if r["alpha"] == alpha and r["slots"] == slots]
    rules = sorted({r["aggregation"] for r in mine})
    betas = sorted({r["beta"] for r in mine})
    fs = sorted({r["fraction"] for r in mine})
    ks = sorted({r["committee"] for r in mine})
    fig, axes = plt.subplots(len(betas), len(rules), figsize=(4.5 * len(rules), 3.4 * len(betas)), squeeze=False,
                             layout="constrained")
    top = max(0.02, max(r["partner_gain"] for r in mine))
    for i, beta in enumerate(betas):
        for j, rule in enumerate(rules):
            ax = axes[i][j]
            grid = np.full((len(ks), len(fs)), np.nan)
            by = {(r["committee"], r["fraction"]): r for r in mine if r["beta"] == beta and r["aggregation"] == rule}
            for (k, f), r in by.items():
                grid[ks.index(k), fs.index(f)] = r["partner_gain"]
            image = ax.imshow(grid, origin="lower", aspect="auto", cmap="RdYlGn_r", vmin=0, vmax=top)
            for (k, f), r in by.items():
                safe = r["partner_gain"] - r["partner_ci"] <= TOLERANCE
                ax.text(fs.index(f), ks.index(k), f"{r['partner_gain']:.2f}" + ("" if safe else "*"),
                        ha="center", va="center", fontsize=7)
            ax.set_xticks(range(len(fs)), [f"{f:g}" for f in fs])
            ax.set_yticks(range(len(ks)), [str(k) for k in ks])
            ax.set_xlabel("colluding fraction f")
            ax.set_ylabel("committee K")
            ax.set_title(f"{rule}, beta={beta:g}", fontsize=9)
    fig.colorbar(image, ax=axes, label="partner's gain (* : beyond 0.01 at 95%)")
    fig.suptitle(f"guarantee map: alpha={alpha:g}, n={slots}")
    save_figure(fig, path, dpi=110, bbox_inches="tight")


def _grinding_plot(path: Path, rows: list[dict]) -> None:
    """The coalition's gain from grinding against the slash, one line per f, a panel per rule (first alpha,
    beta, K and n)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = rows[0]
    mine = [r for r in rows if all(r[k] == first[k] for k in ("alpha", "beta", "committee", "slots"))]
    rules = sorted({r["aggregation"] for r in mine})
    fig, axes = plt.subplots(1, len(rules), figsize=(5.5 * len(rules), 4), squeeze=False, layout="constrained")
    for ax, rule in zip(axes[0], rules, strict=True):
        for f in sorted({r["fraction"] for r in mine}):
            line = sorted((r for r in mine if r["aggregation"] == rule and r["fraction"] == f),
                          key=lambda r: r["slash"])
            ax.errorbar([r["slash"] for r in line], [r["grind_gain"] for r in line],
                        yerr=[r["grind_ci"] for r in line], marker="o", capsize=3, label=f"f={f:g}")
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xscale("symlog", linthresh=0.01)
        ax.set_xlim(left=0)
        ax.set_xlabel("slash per withheld reveal (ETH)")
        ax.set_ylabel("coalition's gain per round (slot payouts)")
        ax.set_title(f"{rule}, K={first['committee']}, beta={first['beta']:g}", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("grinding the committee seed: what the accomplice's withheld reveals earn the coalition")
    save_figure(fig, path, dpi=110)
