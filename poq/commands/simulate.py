"""``poq simulate``: the Monte Carlo of PoQ rounds drawn from a recorded profile.

Each round draws a task, the models in the n inference slots and a committee
of K evaluators, takes their real recorded outputs, scores and costs for that
task, and settles it with the Python reference model (``--backend reference``)
or through commit-reveal and settle on the real contract on a local Anvil
(``--backend anvil``, checked against the model to the wei). Prints every
node's average normalised reward with its spread and 95% interval, and writes
CSV, JSON and plots to --out. ``--scenario all`` adds the adversary report:
how noisy, boosting, sabotaging and colluding evaluators, cost cheats, silent
and lazy nodes move everyone's reward, under mean and median aggregation.
See docs/SIMULATION.md.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from oracle.protocol.params import MAX_COMMITTEE, MAX_SLOTS, UINT64_MAX
from poq.options import (
    csv_ints,
    fraction,
    int_range,
    names,
    out_option,
    profile_option,
    profile_pool,
    rpc_url,
)

DEFAULT_OUT = Path("runs/simulate")
BETA_SWEEP = tuple(round(0.1 * k, 1) for k in range(11))
# Seconds to wait for an Anvil given with --rpc to answer before giving up on it.
RPC_PROBE_TIMEOUT = 5.0

_REFS = csv_ints(count=3, low=1, high=UINT64_MAX, example="5000,256,4096")


def _refs(text: str) -> tuple[int, int, int]:
    """LATENCY_MS,TOKENS,MEMORY_MB: three positive integers that fit the contract's uint64."""
    try:
        lat, tok, mem = _REFS(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (LATENCY_MS,TOKENS,MEMORY_MB; the contract stores each as a "
                                         "uint64)") from None
    return lat, tok, mem



def _rounds(text: str) -> int:
    """1 to ``engine.MAX_ROUNDS`` rounds (imported here, not at start-up, to keep ``poq --help`` fast)."""
    from oracle.simulation.engine import MAX_ROUNDS

    try:
        return int_range(1, MAX_ROUNDS)(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc}: every round of every scenario is kept in memory, so a run is "
                                         "bounded; run more --seed values for tighter intervals") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="Monte Carlo of PoQ rounds drawn from a recorded profile",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    profile_option(p)
    p.add_argument("--rounds", type=_rounds, default=5_000,
                   help="rounds to simulate, 1 to 100,000 (default 5000, as the paper)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    p.add_argument("--slots", type=int_range(1, MAX_SLOTS), default=5,
                   help=f"inference slots per round, n, 1 to {MAX_SLOTS} (default 5)")
    p.add_argument("--committee", type=int_range(1, MAX_COMMITTEE), default=3,
                   help="evaluators per round, K (default 3; paper K <= 3)")
    p.add_argument("--evaluators", type=names(what="evaluators"), default=None,
                   help="comma-separated evaluators to draw committees from (default: every usable one)")
    for role in ("inference", "evaluator"):
        p.add_argument(f"--alpha-{role}", type=fraction, default=None, help=f"alpha of {role} rewards")
        p.add_argument(f"--beta-{role}", type=fraction, default=None, help=f"beta of {role} rewards")
        p.add_argument(f"--{role}-refs", type=_refs, default=None, metavar="MS,TOKENS,MB",
                       help=f"{role} cost references (default: the profile's 90th percentiles)")
    p.add_argument("--aggregation", choices=("mean", "median"), default="mean",
                   help="how the committee's scores become quality (default mean, the paper's)")
    p.add_argument("--backend", choices=("reference", "anvil"), default="reference",
                   help="reference: the Python model (seconds); anvil: the contract on a local Anvil (minutes)")
    p.add_argument("--rpc", type=rpc_url, default=None,
                   help="with --backend anvil: an Anvil already running at this URL instead of a fresh one")
    p.add_argument("--scenario", default="honest",
                   help="honest (default), an adversary scenario's name, or all (prints the adversary report)")
    p.add_argument("--beta-sweep", action="store_true",
                   help="also run beta = 0, 0.1, ..., 1 (both roles) and plot average reward against it")
    out_option(p, DEFAULT_OUT)
    p.set_defaults(func=run)


def _with_refs(model, refs: tuple[int, int, int] | None):
    if refs is None:
        return model
    return replace(model, ref_latency_ms=refs[0], ref_tokens=refs[1], ref_memory_mb=refs[2])


def build_params(args: argparse.Namespace, pool):
    """``Params`` from the flags; cost references default to the pool's suggestion."""
    from oracle.protocol.params import WAD, Aggregation, Params

    base = Params()
    inf, ev = pool.suggested_cost_models(args.slots, base.inference_cost, base.evaluator_cost)
    changes = {"inference_cost": _with_refs(inf, args.inference_refs),
               "evaluator_cost": _with_refs(ev, args.evaluator_refs),
               "aggregation": Aggregation[args.aggregation.upper()]}
    for name in ("alpha_inference", "beta_inference", "alpha_evaluator", "beta_evaluator"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = round(value * WAD)
    return base.with_(**changes)


def make_backend(name: str, rpc: str | None):
    if name == "anvil":
        from oracle.simulation.anvil_backend import AnvilBackend

        return AnvilBackend(rpc_url=rpc)
    from oracle.simulation.reference_backend import ReferenceBackend

    return ReferenceBackend()


def check_rpc(args: argparse.Namespace) -> None:
    """``--rpc`` only with ``--backend anvil``, and only to a JSON-RPC server that answers."""
    import requests

    from oracle.errors import UsageError

    if args.rpc is None:
        return
    if args.backend != "anvil":
        raise UsageError(f"--rpc {args.rpc} is only used by --backend anvil, and the backend is {args.backend}: "
                         "add --backend anvil to settle on that Anvil, or drop --rpc")
    try:
        reply = requests.post(args.rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                              timeout=RPC_PROBE_TIMEOUT)
        reply.raise_for_status()
        reply.json()["result"]
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--rpc {args.rpc}: no JSON-RPC server answers there ({exc.__class__.__name__}): "
                         "start Anvil at that URL, or drop --rpc and poq simulate starts its own") from None


def make_out(out: Path) -> None:
    from oracle.errors import UsageError

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder ({exc.strerror or exc}): give another "
                         "--out folder") from None


def _settlements(pool, draws, seed: int, backend):
    """``Settlements`` whose scenarios build their rounds with a progress callback (``on_build``)."""
    from oracle.simulation.adversary import Settlements
    from oracle.simulation.engine import sim_rounds

    class Shown(Settlements):
        on_build = None

        def __init__(self, *a) -> None:
            super().__init__(*a)
            self.built: dict = {}

        def rounds(self, scenario):
            if scenario.name not in self.built:
                self.built[scenario.name] = sim_rounds(self.pool, self.draws, scenario, self.seed,
                                                         progress=self.on_build)
            return self.built[scenario.name]

    return Shown(pool, draws, seed, backend)


def run(args: argparse.Namespace) -> int:
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from oracle.simulation import results as report
    from oracle.simulation.adversary import compare
    from oracle.simulation.engine import SimulationConfig, draw_rounds
    from oracle.simulation.record_pool import ProfileError
    from oracle.simulation.scenarios import scenarios
    from oracle.simulation.stats import summarise
    from poq.options import console as wide_console

    # Tables are wide: keep them readable when the output is a log rather than a terminal.
    console = wide_console()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    check_rpc(args)
    try:
        pool = profile_pool(args, tuple(args.evaluators) if args.evaluators else None)
        config = SimulationConfig(args.rounds, args.slots, args.committee, args.seed)
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("drawing rounds", total=args.rounds)
            draws = draw_rounds(pool, config, lambda done, total: bar.update(task, completed=done))
    except (ProfileError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    catalogue = scenarios(pool)
    if args.scenario != "all" and args.scenario not in catalogue:
        console.print(f"[red]error:[/red] --scenario {args.scenario!r} is unknown: give all or one of "
                      f"{', '.join(catalogue)}")
        return 2
    params = build_params(args, pool)
    backend = make_backend(args.backend, args.rpc)
    settlements = _settlements(pool, draws, args.seed, backend)
    console.print(f"[bold]profile[/bold] {pool.path}: {len(pool.tasks)} tasks, models {', '.join(pool.models)}; "
                  f"evaluators {', '.join(pool.evaluators)}")
    for note in pool.notes:
        console.print(f"  note: {note}")
    ic, ec = params.inference_cost, params.evaluator_cost
    console.print(f"{args.rounds} rounds, n={args.slots}, K={args.committee}, seed {args.seed}, "
                  f"{params.aggregation.name.lower()} aggregation, backend {backend.name}; cost references "
                  f"inference {ic.ref_latency_ms} ms/{ic.ref_tokens} tok/{ic.ref_memory_mb} MB, "
                  f"evaluator {ec.ref_latency_ms} ms/{ec.ref_tokens} tok/{ec.ref_memory_mb} MB")

    make_out(args.out)
    payload: dict = {"profile": pool.path, "rounds": args.rounds, "slots": args.slots, "committee": args.committee,
                     "seed": args.seed, "backend": backend.name, "params": params.to_dict(),
                     "notes": list(pool.notes)}
    chosen = catalogue.get(args.scenario, catalogue["honest"])
    with Progress(*columns, console=console, transient=True) as bar:
        building = bar.add_task(f"building {chosen.name} rounds", total=args.rounds)
        task = bar.add_task(f"{chosen.name} rounds ({backend.name})", total=args.rounds)
        settlements.on_build = lambda done, total: bar.update(building, completed=done)
        started = time.perf_counter()
        plays = settlements.plays(chosen, params, lambda done, total: bar.update(task, completed=done))
        elapsed = time.perf_counter() - started
        settlements.on_build = None
    stats = summarise(plays)
    check = " (every round equal to the reference model's, to the wei)" if backend.name == "anvil" else ""
    console.print(report.node_table(stats, f"{chosen.name}: average normalised reward over {args.rounds} rounds, "
                                           f"{elapsed:.1f} s on {backend.name}{check}"))
    payload.update(scenario=chosen.name, seconds=elapsed, nodes=[vars(s) for s in stats])
    report.write_csv(args.out / "nodes.csv", stats)
    report.plot_distribution(args.out / "rewards.png", plays)
    report.plot_comparison(args.out / "comparison.png", stats)

    adversaries = [s for name, s in catalogue.items()
                   if name != "honest" and (args.scenario == "all" or name == args.scenario)]
    if adversaries:
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("adversary scenarios x {mean, median}", total=2 * (len(adversaries) + 1))
            results = compare(settlements, params, adversaries, lambda done, total: bar.update(task, completed=done))
        report.print_adversaries(console, results)
        report.write_adversary_csv(args.out / "adversaries.csv", results)
        payload["adversaries"] = report.adversary_rows(results)

    if args.beta_sweep:
        sweep = {}
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("beta sweep", total=len(BETA_SWEEP))
            for k, beta in enumerate(BETA_SWEEP):
                wad = round(beta * 10**18)
                swept = params.with_(beta_inference=wad, beta_evaluator=wad)
                sweep[beta] = settlements.stats(catalogue["honest"], swept)
                bar.update(task, completed=k + 1)
        report.plot_beta_sweep(args.out / "beta_sweep.png", sweep)
        payload["beta_sweep"] = {str(b): [vars(s) for s in st] for b, st in sweep.items()}
        console.print("beta sweep (honest): " + "; ".join(
            f"beta {b:.1f}: " + ", ".join(f"{s.name} {s.mean_reward:.3f}" for s in st if s.role == "inference")
            for b, st in sweep.items() if b in (0.0, 0.5, 1.0)))

    report.write_json(args.out / "summary.json", payload)
    console.print(f"wrote {args.out}/: nodes.csv, summary.json, rewards.png, comparison.png"
                  + (", adversaries.csv" if adversaries else "") + (", beta_sweep.png" if args.beta_sweep else ""))
    return 0
