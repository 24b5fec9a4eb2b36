"""``poq run``: the main job. A devnet, real node daemons and the requester, for a few rounds.

Starts a fresh devnet (``poq devnet up``), then one inference daemon per model
and one evaluator daemon per evaluator, each a separate ``poq node`` process
with its own key and store, talking JSON-RPC to Anvil. Once all of them are
ready, it runs the requester here with a progress bar over the
rounds, prints every daemon's log lines as they come (also kept under
``<state dir>/logs``), and ends with the payout table read from the chain and
checked against the Python reference model. Daemons and Anvil are stopped at
the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from poq.options import check_evaluator, check_model, eth_to_wei, existing_file, names, positive_eth, positive_int

DEFAULT_MODELS = "smollm2-135m,qwen2.5-0.5b"
DEFAULT_EVALUATORS = "token_f1,minilm-bi,minilm-onnx"
STYLES = ["cyan", "magenta", "green", "yellow", "blue", "bright_cyan", "bright_magenta", "bright_green"]
# How long `poq run` waits, after its last round, for every daemon to withdraw its balance.
WITHDRAW_TIMEOUT_S = 60.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="the main job: a devnet, the requester and real node daemons for a few rounds",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=names(check=check_model, what="models"), default=DEFAULT_MODELS,
                   help=f"inference daemons, one per packaged model, comma-separated (default {DEFAULT_MODELS})")
    p.add_argument("--evaluators", type=names(check=check_evaluator, what="evaluators"), default=DEFAULT_EVALUATORS,
                   help=f"evaluator daemons, comma-separated (default {DEFAULT_EVALUATORS})")
    p.add_argument("--rounds", type=positive_int, default=3, help="rounds to play (default 3)")
    p.add_argument("--tasks", default="builtin", choices=("builtin", "squad", "cnn_dailymail"))
    p.add_argument("--tasks-path", type=existing_file, default=None)
    p.add_argument("--limit", type=positive_int, default=None, help="use only the first N tasks")
    p.add_argument("--budget-eth", type=positive_eth, default=1.0, help="budget of each round in ETH (default 1)")
    p.add_argument("--window", type=positive_int, default=30,
                   help="blocks (about seconds) in each stage window; honest stages end early (default 30)")
    p.add_argument("--commit-window", type=positive_int, default=120,
                   help="blocks in the output commit window, where the models run (default 120)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads per inference daemon (default: the cores shared among the models)")
    p.add_argument("--state-dir", type=Path, default=Path(".poq/run"),
                   help="folder of this run's devnet, keys, stores and logs; cleared at start (default .poq/run)")
    p.set_defaults(func=run)


class DaemonProcess:
    """One ``poq node`` process: its output goes to a log file and, prefixed, to the console."""

    def __init__(self, name: str, argv: list[str], log_path: Path, console, style: str) -> None:
        self.name = name
        self.ready = threading.Event()
        self.tail: list[str] = []
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "w", encoding="utf-8")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     start_new_session=True)
        self._thread = threading.Thread(target=self._pump, args=(console, style), daemon=True)
        self._thread.start()

    def _pump(self, console, style: str) -> None:
        from rich.markup import escape

        assert self.proc.stdout is not None  # started with stdout=PIPE
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self._log.write(line + "\n")
            self._log.flush()
            self.tail = (self.tail + [line])[-20:]
            if "ready:" in line:
                self.ready.set()
            console.print(f"[{style}]{self.name:>12}[/{style}] {escape(line)}", highlight=False)

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the daemon finishes its step and exits), SIGKILL after ``timeout``; idempotent."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(timeout=5)
        if not self._log.closed:
            self._log.close()


def stop_all(daemons: list[DaemonProcess]) -> None:
    """SIGTERM every daemon at once, then wait for each (they shut down in parallel)."""
    for d in daemons:
        d.terminate()
    for d in daemons:
        d.stop()


def node_argv(role: str, option: str, value: str, node: str, deployment: Path) -> list[str]:
    return [sys.executable, "-m", "poq", "node", role, option, value, "--node", node,
            "--deployment", str(deployment)]


def wait_ready(daemons: list[DaemonProcess], timeout: float = 300.0) -> None:
    """Block until every daemon logged ``ready:``; a daemon that exits first is an error with its last lines."""
    deadline = time.monotonic() + timeout
    for d in daemons:
        while not d.ready.wait(0.2):
            if d.proc.poll() is not None:
                raise RuntimeError(f"daemon {d.name} exited with code {d.proc.returncode} before it was ready:\n"
                                   + "\n".join(d.tail))
            if time.monotonic() > deadline:
                raise TimeoutError(f"daemon {d.name} was not ready after {timeout:.0f}s")


def wait_withdrawn(client, nodes, timeout: float) -> list[str]:
    """Names of the ``nodes`` still owed a balance after ``timeout`` s (each daemon withdraws on its own)."""
    deadline = time.monotonic() + timeout
    while True:
        owed = [a.name for a in nodes if client.balance_of(a.address) > 0]
        if not owed or time.monotonic() > deadline:
            return owed
        time.sleep(0.25)


def clear_state_dir(state_dir: Path) -> None:
    """Remove what a previous ``poq run`` left (stopping its Anvil), and only that."""
    from oracle.chain.devnet import down

    deployment = state_dir / "deployment.json"
    if deployment.exists():
        down(deployment, log=lambda msg: None)
    for name in ("deployment.json", "anvil.log", "keys", "stores", "logs"):
        target = state_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def run(args: argparse.Namespace) -> int:
    import logging

    from rich.logging import RichHandler
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from node import requester
    from node.startup import make_daemon
    from oracle.chain import devnet
    from oracle.chain.keys import from_keystore
    from oracle.chain.payouts import collect
    from oracle.pipeline.tasks import load_tasks
    from poq.options import console as wide_console
    from poq.tables import render

    console = wide_console()
    models = list(args.models)
    evaluators = list(args.evaluators)
    if not models or not evaluators:
        console.print("[red]poq run needs at least one model and one evaluator[/red]")
        return 2
    tasks = load_tasks(args.tasks, args.tasks_path, args.limit)
    state_dir = args.state_dir.resolve()
    clear_state_dir(state_dir)
    logging.basicConfig(level=logging.INFO, format="%(message)s", datefmt="%H:%M:%S",
                        handlers=[RichHandler(console=console, show_path=False)])
    for noisy in ("web3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    deployment = devnet.up(state_dir, inference=len(models), evaluators=len(evaluators), window=args.window,
                           commit_window=args.commit_window,
                           log=console.print)
    daemons: list[DaemonProcess] = []
    try:
        threads = args.threads or max(1, len(os.sched_getaffinity(0)) // len(models))
        specs = [("inference", "--model", m, f"inference-{i}", ["--threads", str(threads)])
                 for i, m in enumerate(models, 1)]
        specs += [("evaluator", "--evaluator", e, f"evaluator-{i}", []) for i, e in enumerate(evaluators, 1)]
        for k, (role, option, value, node, extra) in enumerate(specs):
            daemons.append(DaemonProcess(node, node_argv(role, option, value, node, deployment.path) + extra,
                                         state_dir / "logs" / f"{node}.log", console, STYLES[k % len(STYLES)]))
            console.print(f"started {node} ({value}), pid {daemons[-1].proc.pid}")
        console.print("waiting for the daemons to load their models...")
        wait_ready(daemons)

        account = from_keystore(deployment.resolve(deployment.account("requester").keystore),
                                deployment.resolve(deployment.password_file))
        daemon = make_daemon(deployment, "requester", account, logging.getLogger("requester"))
        plan = requester.plan_rounds(deployment, daemon.client, eth_to_wei(args.budget_eth))
        with Progress(TextColumn("[bold]rounds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console) as bar:
            task_id = bar.add_task("", total=args.rounds)
            result = requester.run(daemon, tasks, plan, args.rounds,
                                   progress=lambda done, total, msg: bar.update(task_id, completed=done,
                                                                                description=msg))
        nodes = [a for a in deployment.accounts if a.role in ("inference", "evaluator")]
        owed = wait_withdrawn(daemon.client, nodes, timeout=WITHDRAW_TIMEOUT_S)
        stop_all(daemons)
        data = collect(daemon.client, deployment)
    finally:
        stop_all(daemons)
        devnet.down(deployment.path, log=console.print)
    render(data, console)
    mismatched = [r["round"] for r in data["rounds"] if r.get("matches_reference_model") is False]
    if mismatched:
        console.print(f"[red]rounds {mismatched}: chain payouts differ from the reference model[/red]")
    else:
        console.print("[green]every settled round's payouts equal the Python reference model's, to the wei[/green]")
    if owed:
        console.print(f"[red]{', '.join(owed)} still owed a balance {WITHDRAW_TIMEOUT_S:.0f} s after the last "
                      "round: their daemons did not withdraw (see their logs)[/red]")
    else:
        console.print("[green]every node withdrew what it was owed[/green]")
    console.print(f"logs: {state_dir / 'logs'}")
    return 1 if result.failed or mismatched or owed else 0
