"""``poq oracle``: the requester daemon. Opens rounds from a task source and sees each one settled.

Every round gets the next task (built-in, or a SQuAD / CNN-DailyMail file),
the budget, n inference slots and a committee of K, and a salted commitment to
the task's references. The requester reveals the references once the outputs
are fixed, calls ``advance`` when a stage's deadline passes, settles, and
withdraws its refund; a progress bar counts settled rounds. It exits after
``--rounds`` rounds (0: runs until stopped).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from oracle.commands.node import add_daemon_args, fail, open_daemon, setup_errors


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("oracle", help="run the requester: open rounds from a task source, reveal, advance, settle",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="builtin", choices=("builtin", "squad", "cnn_dailymail"),
                   help="task source (default builtin)")
    p.add_argument("--tasks-path", type=Path, default=None, help="SQuAD / CNN-DailyMail file (JSON, JSONL, CSV)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N tasks of the source")
    p.add_argument("--rounds", type=int, default=3, help="rounds to open and settle, 0 = until stopped (default 3)")
    p.add_argument("--parallel", type=int, default=1, help="rounds open at the same time (default 1)")
    p.add_argument("--budget-eth", type=float, default=1.0, help="budget of each round in ETH (default 1)")
    p.add_argument("--slots", type=int, default=None,
                   help="inference slots n per round (default: the deployment's inference nodes)")
    p.add_argument("--committee", type=int, default=None,
                   help="committee size K (default: min(3, registered evaluators))")
    p.add_argument("--no-progress", action="store_true", help="plain logs only, no progress bar")
    add_daemon_args(p, default_node="requester")
    p.set_defaults(func=run)


def round_plan(args: argparse.Namespace, deployment, client):
    """Budget, n and K: from the options, else from the deployment and the chain's evaluator set."""
    from node.requester import RoundPlan

    slots = args.slots or len(deployment.accounts_by_role("inference"))
    if slots <= 0:
        raise ValueError(f"{deployment.path} lists no inference nodes: pass --slots N")
    available = len(client.contract.functions.evaluatorSet().call())
    committee = args.committee or min(3, available)
    if committee <= 0:
        raise ValueError(f"no evaluator is registered with PoQ {client.address}: register one or pass --committee")
    return RoundPlan(budget=int(args.budget_eth * 10**18), slots=slots, committee_size=committee)


def run(args: argparse.Namespace) -> int:
    from node import requester
    from oracle.tasks import load_tasks

    try:
        deployment, daemon = open_daemon(args, "requester")
        plan = round_plan(args, deployment, daemon.client)
        tasks = load_tasks(args.tasks, args.tasks_path, args.limit)
    except setup_errors() as exc:
        return fail(exc)
    if args.no_progress:
        result = requester.run(daemon, tasks, plan, args.rounds, args.parallel)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("[bold]rounds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}")) as bar:
            task_id = bar.add_task("", total=args.rounds or None)
            result = requester.run(daemon, tasks, plan, args.rounds, args.parallel,
                                   progress=lambda done, total, msg: bar.update(task_id, completed=done,
                                                                                description=msg))
    return 1 if result.failed else 0
