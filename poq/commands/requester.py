"""``poq requester``: the requester daemon. Opens rounds from a task source and sees each one settled.

Every round gets the next task (built-in, or a SQuAD / CNN-DailyMail file),
the budget, n inference slots and a committee of K, and a salted commitment to
the task's references. The requester reveals the references once the outputs
are fixed, calls ``advance`` when a stage's deadline passes, settles, and
withdraws its refund; a progress bar counts settled rounds. It exits after
``--rounds`` rounds (0: runs until stopped).
"""

from __future__ import annotations

import argparse

from oracle.protocol.params import MAX_COMMITTEE, MAX_SLOTS
from poq.chain_args import add_daemon_args, fail, open_daemon, setup_errors
from poq.options import eth_to_wei, existing_file, int_range, non_negative_int, positive_eth, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("requester", help="run the requester: open rounds from a task source, reveal, advance, settle",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="builtin", choices=("builtin", "squad", "cnn_dailymail"),
                   help="task source (default builtin)")
    p.add_argument("--tasks-path", type=existing_file, default=None,
                   help="SQuAD / CNN-DailyMail file (JSON, JSONL, CSV)")
    p.add_argument("--limit", type=positive_int, default=None, help="use only the first N tasks of the source")
    p.add_argument("--rounds", type=non_negative_int, default=3,
                   help="rounds to open and settle, 0 = until stopped (default 3)")
    p.add_argument("--parallel", type=positive_int, default=1, help="rounds open at the same time (default 1)")
    p.add_argument("--budget-eth", type=positive_eth, default=1.0, help="budget of each round in ETH (default 1)")
    p.add_argument("--slots", type=int_range(1, MAX_SLOTS), default=None,
                   help=f"inference slots n per round, 1 to {MAX_SLOTS} "
                        "(default: the deployment's inference nodes)")
    p.add_argument("--committee", type=int_range(1, MAX_COMMITTEE), default=None,
                   help=f"committee size K, 1 to {MAX_COMMITTEE} (default: min(3, registered evaluators))")
    p.add_argument("--no-progress", action="store_true", help="plain logs only, no progress bar")
    add_daemon_args(p, default_node="requester")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from node import requester
    from oracle.pipeline.tasks import load_tasks

    try:
        deployment, daemon = open_daemon(args, "requester")
        plan = requester.plan_rounds(deployment, daemon.client, eth_to_wei(args.budget_eth), args.slots,
                                     args.committee)
        requester.check_funds(daemon.client, daemon.account.address, plan.budget)
        requester.check_budget(daemon.client, plan.budget)  # the contract's min_budget (BudgetTooLow: a ValueError)
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
