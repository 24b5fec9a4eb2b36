"""``poq network``: a population of nodes played round by round, committees drawn by the contract's rule.

N inference and M evaluator nodes, each its own account with its own stake,
play rounds of a recorded profile (node i plays the profile's model i mod 3,
evaluator j its evaluator j mod 4). A fraction of the evaluators colludes for
inference node 0; some inference nodes are silent (commit, never reveal) and
some evaluators absent (drawn, never commit): each is slashed on every such
round, and once its stake is below the minimum it is drawn no more. Every
committee is drawn by stake-weighted sortition from the salts the round's
inference nodes reveal. With --backend anvil every call goes to the real
contract on a local Anvil, which draws the committees itself, and every round
is checked against the reference model to the wei. Prints every node's plays,
average normalised reward, pay, slashes and stake; writes network_nodes.csv and
stakes.png (every node's stake, epoch by epoch) to --out.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from pathlib import Path

from poq.options import fraction, int_range, out_option, profile_option, profile_pool
from poq.outputs import save_figure, write_csv

DEFAULT_OUT = Path("runs/network")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("network", help="a population with per-node stakes, the contract drawing committees",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    profile_option(p)
    p.add_argument("--inference", type=int_range(1, 1_000), default=10, help="inference nodes, N (default 10)")
    p.add_argument("--evaluators", type=int_range(1, 1_000), default=20, help="evaluator nodes, M (default 20)")
    p.add_argument("--slots", type=int_range(1, 64), default=3, help="inference slots per round, n (default 3)")
    p.add_argument("--committee", type=int_range(1, 16), default=3, help="evaluators per round, K (default 3)")
    p.add_argument("--colluding", type=fraction, default=0.2,
                   help="fraction of the evaluators colluding for inference node 0 (default 0.2)")
    p.add_argument("--silent", type=int_range(0, 1_000), default=1,
                   help="inference nodes that commit and never reveal (default 1)")
    p.add_argument("--absent", type=int_range(0, 1_000), default=2,
                   help="honest evaluators that are drawn and never commit (default 2)")
    p.add_argument("--rounds", type=int_range(1, 100_000), default=1_000, help="rounds (default 1000)")
    p.add_argument("--epoch", type=int_range(1, 10_000), default=10,
                   help="rounds opened and settled together (default 10)")
    p.add_argument("--draw", choices=("salts", "seeded"), default="salts",
                   help="salts: the contract's own draw from the revealed salts (default); seeded: the same rule "
                        "from a seeded generator, faster for long reference runs")
    p.add_argument("--backend", choices=("reference", "anvil"), default="reference",
                   help="reference model, or the contract on a local Anvil checked to the wei (default reference)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws and of who deviates (default 0)")
    out_option(p, DEFAULT_OUT)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress
    from rich.table import Table

    from oracle.errors import UsageError
    from oracle.simulation.anvil_network import AnvilNetwork
    from oracle.simulation.network import NetworkConfig, run_reference, summarise
    from oracle.simulation.population import Population, build_population
    from poq.options import console as wide_console

    console = wide_console()
    pool = profile_pool(args)
    params = pool.default_params(args.slots)
    base = build_population(pool, args.inference, args.evaluators, args.colluding, args.seed)
    if args.silent >= args.inference:
        raise UsageError(f"--silent {args.silent} leaves no honest inference node among N={args.inference}: "
                         f"give --silent below {args.inference}")
    honest = [j for j, e in enumerate(base.evaluators) if e.behaviour == "honest"]
    if args.absent >= len(honest):
        raise UsageError(f"--absent {args.absent}: only {len(honest)} evaluators are honest, and one must stay so: "
                         f"give --absent below {len(honest)}")
    inference = [replace(n, behaviour="silent", stake=4 * params.min_stake) if i >= args.inference - args.silent
                 else n for i, n in enumerate(base.inference)]
    absent = set(honest[-args.absent:]) if args.absent else set()
    evaluators = [replace(e, behaviour="absent") if j in absent else e for j, e in enumerate(base.evaluators)]
    population = Population(tuple(inference), tuple(evaluators))
    if args.backend == "anvil" and args.draw != "salts":
        raise UsageError("--backend anvil checks the contract's own draw: drop --draw seeded")
    config = NetworkConfig(args.rounds, args.slots, args.committee, epoch=args.epoch, seed=args.seed, draw=args.draw)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"rounds ({args.backend})", total=args.rounds)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if args.backend == "anvil":
            played = AnvilNetwork().run(pool, population, params, config, progress)
        else:
            played = run_reference(pool, population, params, config, progress)
    nodes = summarise(population, params, played)
    table = Table(title=f"{args.rounds} rounds, N={args.inference}, M={args.evaluators}, n={args.slots}, "
                        f"K={args.committee}, backend {args.backend}")
    for column in ("node", "identity", "behaviour", "plays", "avg reward", "paid (ETH)", "slashed (ETH)",
                   "stake (ETH)"):
        table.add_column(column, justify="left" if column in ("node", "identity", "behaviour") else "right")
    for n in nodes:
        table.add_row(n.name, n.identity, n.behaviour, str(n.plays), f"{n.mean_reward:.3f}", f"{n.paid_wei / 1e18:.3f}",
                      f"{n.slashed_wei / 1e18:.2f}", f"{n.stake_start / 1e18:.1f} -> {n.stake_end / 1e18:.1f}")
    console.print(table)
    if args.backend == "anvil":
        console.print("Every committee was drawn by the contract, and every round paid what the reference model "
                      "pays, to the wei.")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [asdict(n) for n in nodes]
    write_csv(args.out / "network_nodes.csv", list(rows[0]), rows)
    _plot(args.out / "stakes.png", played.history, nodes, params.min_stake)
    console.print(f"written: {args.out / 'network_nodes.csv'}, {args.out / 'stakes.png'}")
    return 0


def _plot(path: Path, history: list[tuple[int, dict[str, int]]], nodes, min_stake: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = [0] + [done for done, _ in history]
    styles = {"honest": ":", "collude": "-", "silent": "--", "absent": "-."}
    for n in nodes:
        if n.stake_end == n.stake_start:
            continue  # flat lines say nothing; the title counts them
        ys = [n.stake_start / 1e18] + [stakes[n.name] / 1e18 for _, stakes in history]
        ax.step(xs, ys, where="post", linestyle=styles.get(n.behaviour, "-"), label=f"{n.name} ({n.behaviour})")
    ax.axhline(min_stake / 1e18, color="grey", linewidth=0.8, linestyle="--")
    ax.text(xs[-1], min_stake / 1e18, " min stake: drawn no more below", va="bottom", ha="right", fontsize=8)
    flat = sum(n.stake_end == n.stake_start for n in nodes)
    ax.set_title(f"slashed stakes, epoch by epoch ({flat} nodes kept theirs: not shown)")
    # Slashes come early and the rest is flat: a log axis past the first epoch shows both.
    ax.set_xscale("symlog", linthresh=max(1, history[0][0]))
    ax.set_xlim(left=0)
    ax.set_xlabel("rounds settled (log scale past the first epoch)")
    ax.set_ylabel("stake (ETH)")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
