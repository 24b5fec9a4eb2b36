"""A seeded, bounded chaos soak: real daemons on a real devnet, faults at random moments, invariants after.

Why: the single-fault daemon tests (``test_daemons.py``) show that one crash or one RPC outage loses
nothing. A node operator meets them together, at moments nobody chose: a daemon killed while another
one's disk is full, the chain stalled in the middle of a reveal, the devnet replaced under running
daemons. This campaign runs at least ten ``poq node`` daemons and ``poq requester`` with several rounds
in flight, injects every kind of fault at moments drawn from ``random.Random(seed)``, and afterwards
checks what must hold whatever happened: every round settled, nobody slashed, every payout equal to
the reference model, no salt lost, no store corrupt, and every node able to withdraw what it is owed.

Faults (one at a time; the kind, target, moment and duration are drawn from the seed):

* ``kill``: SIGKILL of a random daemon, restarted after 1-5 s (well inside a stage window);
* ``anvil_stop``: SIGSTOP of Anvil for 3-8 s, then SIGCONT;
* ``rpc_cut``: the loopback proxy every daemon and the requester use is cut for 3-8 s, then restored;
* ``disk_full``: one daemon's store lives on a small tmpfs, which is filled until the daemon logs a
  store fault (its next write), then for 3-8 s more, then freed;
* ``redeploy``: between phases, ``devnet.down`` + ``devnet.up`` on the same state dir under the
  running daemons (same address and chain id, another deploy block hash). Each daemon must notice and
  exit with code 2; the harness is their supervisor (as systemd would be) and restarts whatever exits,
  and the restarted daemons follow the new deployment with new stores.

The moments are seeded, not the machine: the same seed gives the same fault plan (kinds, targets, gaps,
durations), while where in a round each fault lands depends on the machine's speed.

Run it (from the repository root)::

    .venv/bin/python tests/node/chaos.py --seed 1 --inference 4 --evaluators 8 --rounds 60 --phases 3 \\
        --report chaos-report.md

Exit code 0 if every invariant holds, 1 if one fails, 2 for a bad option. It mounts a tmpfs, so it
needs root (or passwordless sudo).
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT), str(Path(__file__).resolve().parent)):  # run as a script: the project and tcp_proxy
    if _p not in sys.path:
        sys.path.insert(0, _p)

from tcp_proxy import TcpProxy  # noqa: E402

from oracle.chain import devnet  # noqa: E402
from oracle.chain.deployment import Deployment  # noqa: E402

MODEL_ARGS = ["--model", "smollm2-135m", "--threads", "1", "--max-new-tokens", "16"]
# Cheap real evaluators, one ONNX bi-encoder among lexical ones: evaluator-1 is minilm-onnx.
EVALUATOR_CYCLE = ("token_f1", "rouge_l")
KINDS = ("kill", "anvil_stop", "rpc_cut", "disk_full")
# A deck of fault kinds is dealt in a seeded order: each kind once first, then kills twice as often as the rest.
DECK = ("kill", "kill", "anvil_stop", "rpc_cut", "disk_full")
SALT_LOST = ("LOST SALT", "stake will be slashed")
REPLACED = "the chain was replaced under this daemon"
# A daemon (re)started while the RPC is cut or Anvil stopped cannot connect and exits before ``ready:``
# (``poq: RPC ... is unreachable``, code 2): its supervisor starts it again, as after any failed start.
UNREACHABLE = ("is unreachable", "ConnectionError", "ReadTimeout", "Connection refused")
REDEPLOY_EXIT, OUTAGE_AT_START, CRASH = "noticed the redeploy", "start-up during an RPC outage", "CRASH"
ANVIL_ACCOUNTS = 20  # oracle.chain.anvil.Anvil's default: owner, requester and the nodes must fit
STORE_FAULT_WAIT = 30.0  # seconds the disk stays full at most before the daemon's first write fails


@dataclass(frozen=True)
class Config:
    """One campaign; ``rounds`` are split evenly over ``phases`` (a redeploy between two phases)."""

    seed: int = 1
    inference: int = 4
    evaluators: int = 6
    rounds: int = 12
    phases: int = 2
    parallel: int = 3
    slots: int = 3
    committee: int = 3
    window: int = 60  # blocks (~s) per stage: a killed daemon is back (restart + start-up) well inside it
    commit_window: int = 180  # the models' stage, generous for a loaded 2-core machine
    gap_min: float = 4.0  # seconds between two faults
    gap_max: float = 12.0
    poll: float = 0.5
    tmpfs_mb: int = 16  # the full-disk daemon's store: small, but above SQLite's WAL at its checkpoint size
    ready_timeout: float = 600.0
    workdir: Path | None = None

    def evaluator_names(self) -> dict[str, str]:
        names = {}
        for i in range(1, self.evaluators + 1):
            names[f"evaluator-{i}"] = "minilm-onnx" if i == 1 else EVALUATOR_CYCLE[i % 2]
        return names

    def phase_rounds(self) -> list[int]:
        base, extra = divmod(self.rounds, self.phases)
        return [base + (1 if i < extra else 0) for i in range(self.phases)]


def validate(cfg: Config) -> list[str]:
    """What is wrong with ``cfg`` (empty: nothing), each with the fix: checked before anything starts."""
    errors = []
    if cfg.inference < 2:
        errors.append(f"--inference {cfg.inference}: at least 2 (the slots must be fewer than the inference daemons)")
    if cfg.evaluators < 2:
        errors.append(f"--evaluators {cfg.evaluators}: at least 2 (the committee must be smaller than the evaluators)")
    if cfg.inference + cfg.evaluators + 2 > ANVIL_ACCOUNTS:
        errors.append(f"--inference {cfg.inference} + --evaluators {cfg.evaluators}: at most "
                      f"{ANVIL_ACCOUNTS - 2} nodes (Anvil's development accounts, less owner and requester)")
    if not 1 <= cfg.slots < cfg.inference:
        errors.append(f"--slots {cfg.slots}: 1 to {cfg.inference - 1} (fewer than the inference daemons, so a "
                      "killed one does not stall a round)")
    if not 1 <= cfg.committee < cfg.evaluators:
        errors.append(f"--committee {cfg.committee}: 1 to {cfg.evaluators - 1} (fewer than the evaluators)")
    if cfg.phases < 1:
        errors.append(f"--phases {cfg.phases}: at least 1 (2 or more to redeploy between phases)")
    elif cfg.rounds < cfg.phases:
        errors.append(f"--rounds {cfg.rounds}: at least one round per phase ({cfg.phases} phases)")
    if cfg.parallel < 1:
        errors.append(f"--parallel {cfg.parallel}: at least 1")
    if cfg.window < 20:
        errors.append(f"--window {cfg.window}: at least 20 blocks, so a restarted daemon is back inside it")
    if cfg.commit_window < cfg.window:
        errors.append(f"--commit-window {cfg.commit_window}: at least --window ({cfg.window})")
    if not 0 < cfg.gap_min <= cfg.gap_max:
        errors.append(f"--gap {cfg.gap_min},{cfg.gap_max}: 0 < min <= max seconds")
    if cfg.tmpfs_mb < 8:
        errors.append(f"--tmpfs-mb {cfg.tmpfs_mb}: at least 8 (SQLite's WAL grows to ~4 MB before a checkpoint)")
    return errors


@dataclass
class Fault:
    kind: str
    target: str
    phase: int
    t: float  # seconds since the campaign started
    duration: float
    note: str = ""
    observed: bool = True  # disk_full: the daemon's store refused a write (it logged a store fault)


@dataclass
class Exit:
    """A daemon exit the harness did not cause (the supervisor restarted it)."""

    name: str
    code: int | None
    phase: int
    t: float
    reason: str  # REDEPLOY_EXIT, OUTAGE_AT_START or CRASH

    @property
    def expected(self) -> bool:
        return self.reason != CRASH


@dataclass
class Invariant:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class PhaseResult:
    index: int
    deploy_hash: str
    requested: int
    opened: int = 0
    settled: int = 0
    slashes: int = 0
    requester_rc: int | None = None
    wall: float = 0.0

    @property
    def lost(self) -> int:
        """Rounds asked for that did not settle: opened and not settled, or never opened."""
        return self.opened - self.settled + max(0, self.requested - self.opened)


@dataclass
class Report:
    cfg: Config
    command: str
    started: str
    daemons: dict[str, str] = field(default_factory=dict)  # name -> what it runs
    faults: list[Fault] = field(default_factory=list)
    exits: list[Exit] = field(default_factory=list)
    phases: list[PhaseResult] = field(default_factory=list)
    invariants: list[Invariant] = field(default_factory=list)
    store_fault_daemon: str = ""
    wall: float = 0.0
    workdir: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.invariants) and all(i.ok for i in self.invariants)

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in (*KINDS, "redeploy")}
        for f in self.faults:
            out[f.kind] = out.get(f.kind, 0) + 1
        return out

    def text(self) -> str:
        """The report, as Markdown (what docs/CHAOS.md quotes)."""
        c = self.cfg
        opened = sum(p.opened for p in self.phases)
        settled = sum(p.settled for p in self.phases)
        kinds = {}
        for what in self.daemons.values():
            kinds[what] = kinds.get(what, 0) + 1
        lines = [
            "## Chaos soak report", "",
            f"- command: `{self.command}`",
            f"- date: {self.started}",
            f"- seed: {c.seed}",
            f"- daemons: {len(self.daemons)} ({c.inference} inference, {c.evaluators} evaluators: "
            + ", ".join(f"{n} x {w}" for w, n in sorted(kinds.items())) + "), plus `poq requester` per phase",
            f"- rounds: {c.rounds} requested over {c.phases} phase(s) ({'/'.join(map(str, c.phase_rounds()))}), "
            f"--parallel {c.parallel} --slots {c.slots} --committee {c.committee}; stage windows "
            f"{c.window} blocks, commit window {c.commit_window}",
            f"- full-disk daemon (store on a {c.tmpfs_mb} MB tmpfs): {self.store_fault_daemon}",
            f"- wall time: {self.wall:.0f} s",
            f"- rounds opened {opened}, settled {settled}, lost {sum(p.lost for p in self.phases)}; "
            f"slashes {sum(p.slashes for p in self.phases)}",
            "", f"### Faults injected ({len(self.faults)})", "",
            "counts: " + ", ".join(f"{k} {n}" for k, n in self.counts().items()), "",
            "| # | phase | t (s) | kind | target | duration (s) | note |",
            "|---|---|---|---|---|---|---|",
        ]
        for i, f in enumerate(self.faults, 1):
            lines.append(f"| {i} | {f.phase} | {f.t:.1f} | {f.kind} | {f.target} | {f.duration:.1f} | "
                         f"{f.note.replace('|', '/')} |")
        lines += ["", "### Daemon exits the harness did not cause (restarted by it, as a supervisor)", ""]
        if self.exits:
            lines += [f"- t {e.t:.1f} s, phase {e.phase}: {e.name} exited with code {e.code} ({e.reason})"
                      for e in self.exits]
        else:
            lines.append("- none")
        lines += ["", "### Phases", "",
                  "| phase | deploy block hash | rounds requested | opened | settled | lost | slashes | requester exit "
                  "| wall (s) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for p in self.phases:
            lines.append(f"| {p.index} | {p.deploy_hash[:18]} | {p.requested} | {p.opened} | {p.settled} | {p.lost} | "
                         f"{p.slashes} | {p.requester_rc} | {p.wall:.0f} |")
        lines += ["", "### Invariants", ""]
        lines += [f"- {'PASS' if i.ok else 'FAIL'}: {i.name}" + (f" ({i.detail})" if i.detail else "")
                  for i in self.invariants]
        lines += ["", f"**result: {'PASS' if self.ok else 'FAIL'}** "
                      f"({sum(i.ok for i in self.invariants)}/{len(self.invariants)} invariants hold)", ""]
        return "\n".join(lines)


class Proc:
    """A ``poq`` subprocess with its output appended to a log file (one log across restarts)."""

    def __init__(self, name: str, log_path: Path, args: Callable[[], list[str]]) -> None:
        self.name, self.log_path, self.args = name, log_path, args
        self.proc: subprocess.Popen | None = None
        self.offset = 0  # where the current start's output begins in the log
        self.held = False  # the harness stopped it on purpose: the supervisor leaves it alone
        self.started_phase = 0

    def start(self, phase: int = 0) -> Proc:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        args = self.args()
        self.offset = self.size()
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"----- start {' '.join(args)}\n")
            log.flush()
            self.proc = subprocess.Popen([sys.executable, "-m", "poq", *args], cwd=ROOT, env=env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.held = False
        self.started_phase = phase
        return self

    def size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def text(self, since: int = 0) -> str:
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as fh:
            fh.seek(since)
            return fh.read().decode("utf-8", "replace")

    def output(self) -> str:
        return self.text(self.offset)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def last_line(self) -> str:
        lines = [ln for ln in self.output().splitlines() if ln.strip()]
        if not lines:
            return "(no output yet)"
        parts = lines[-1].split(" ", 3)  # "HH:MM:SS name LEVEL message"
        return (parts[3] if len(parts) == 4 else lines[-1])[:70]

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash (held: the fault restarts it, not the supervisor)."""
        self.held = True
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code (None if it had to be killed)."""
        self.held = True
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


class Campaign:
    """The soak: devnet, proxy, tmpfs, daemons, phases of rounds under faults, invariants, clean-up."""

    def __init__(self, cfg: Config, out: Callable[[str], None] = print, command: str = "") -> None:
        self.cfg = cfg
        self.out = out
        self.rng = random.Random(cfg.seed)
        self.t0 = time.monotonic()
        self.work = Path(cfg.workdir or tempfile.mkdtemp(prefix="poq-chaos-")).resolve()
        self.state = self.work / "devnet"
        self.logs = self.work / "logs"
        self.tmpfs = self.work / "tmpfs"
        self.report = Report(cfg, command or "tests/node/chaos.py", datetime.datetime.now(datetime.UTC)
                             .strftime("%Y-%m-%d %H:%M UTC"), workdir=str(self.work))
        self.deployment: Deployment | None = None
        self.proxy: TcpProxy | None = None
        self.daemons: dict[str, Proc] = {}
        self.requester: Proc | None = None  # the current phase's ``poq requester``
        self.phase = 0
        self.deck: list[str] = []
        self.dealt = False  # the first deal (each kind once) is out
        self.mounted = False

    # ------------------------------------------------------------------ helpers

    def now(self) -> float:
        return time.monotonic() - self.t0

    def say(self, msg: str) -> None:
        self.out(f"[{self.now():7.1f}s] {msg}")

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.report.invariants.append(Invariant(name, ok, detail))
        self.say(f"{'PASS' if ok else 'FAIL'}: {name}" + (f" ({detail})" if detail else ""))

    def client(self):
        """A client straight to Anvil (not through the proxy), for the harness's own reads."""
        return self.deployment.connect()

    def wait(self, seconds: float) -> None:
        """Sleep while supervising: a daemon that exits on its own is restarted meanwhile."""
        end = time.monotonic() + seconds
        while True:
            self.supervise()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.25, left))

    def supervise(self) -> None:
        """Restart every daemon that exited without the harness stopping it (as systemd's Restart=always).

        An exit with code 2 after a redeploy is expected: the daemon noticed the chain was replaced.
        Anything else is a crash, recorded and shown with the daemon's last lines.
        """
        for d in self.daemons.values():
            if d.held or d.proc is None or d.proc.poll() is None:
                continue
            code, out = d.proc.returncode, d.output()
            if code == 2 and REPLACED in out:
                reason = REDEPLOY_EXIT
            elif "ready:" not in out and any(u in out for u in UNREACHABLE):
                reason = OUTAGE_AT_START
            else:
                reason = CRASH
            self.report.exits.append(Exit(d.name, code, self.phase, self.now(), reason))
            if reason == CRASH:
                self.say(f"{d.name} CRASHED with code {code}; its last lines:\n{out[-2000:]}")
            else:
                self.say(f"{d.name} exited with code {code} ({reason}): restarting it")
                if reason == OUTAGE_AT_START:
                    time.sleep(1.0)  # as a supervisor's restart delay: no busy loop while the outage lasts
            d.start(self.phase)

    def node_args(self, name: str) -> list[str]:
        """The daemon's command line for the current deployment (the full-disk daemon's store on the tmpfs)."""
        assert self.deployment is not None and self.proxy is not None
        if name.startswith("inference"):
            args = ["node", "inference", *MODEL_ARGS]
        else:
            args = ["node", "evaluator", "--evaluator", self.cfg.evaluator_names()[name]]
        args += ["--node", name, "--deployment", str(self.deployment.path), "--rpc", self.proxy.url,
                 "--poll", str(self.cfg.poll)]
        if name == self.report.store_fault_daemon:
            tag = (self.deployment.deploy_block_hash or "0x").removeprefix("0x")[:8]
            args += ["--store", str(self.tmpfs / f"{name}-{tag}.sqlite")]
        return args

    def wait_ready(self, procs: list[Proc]) -> None:
        """Until every daemon's current start logged ``ready:`` (restarting any that exits meanwhile)."""
        deadline = time.monotonic() + self.cfg.ready_timeout
        while not all("ready:" in d.output() for d in procs):
            if time.monotonic() > deadline:
                slow = [d.name for d in procs if "ready:" not in d.output()]
                raise RuntimeError(f"daemons not ready within {self.cfg.ready_timeout:.0f}s: {slow}")
            self.wait(0.5)

    # ------------------------------------------------------------------ set-up and clean-up

    def mount_tmpfs(self) -> None:
        self.tmpfs.mkdir(parents=True, exist_ok=True)
        cmd = ["mount", "-t", "tmpfs", "-o", f"size={self.cfg.tmpfs_mb}m", "tmpfs", str(self.tmpfs)]
        if os.geteuid() != 0:
            cmd = ["sudo", "-n", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        self.mounted = True

    def unmount_tmpfs(self) -> None:
        if self.mounted:
            cmd = ["umount", str(self.tmpfs)]
            subprocess.run(cmd if os.geteuid() == 0 else ["sudo", "-n", *cmd], check=False, capture_output=True)
            self.mounted = False

    def up(self) -> Deployment:
        return devnet.up(self.state, inference=self.cfg.inference, evaluators=self.cfg.evaluators,
                         window=self.cfg.window, commit_window=self.cfg.commit_window, log=lambda msg: None)

    def anvil_port(self) -> int:
        return int(self.deployment.rpc_url.rsplit(":", 1)[1])

    # ------------------------------------------------------------------ the campaign

    def run(self) -> Report:
        cfg = self.cfg
        self.logs.mkdir(parents=True, exist_ok=True)
        self.say(f"chaos soak, seed {cfg.seed}, work dir {self.work}")
        try:
            self.mount_tmpfs()
            self.deployment = self.up()
            self.proxy = TcpProxy(self.anvil_port())
            names = [f"inference-{i}" for i in range(1, cfg.inference + 1)] + list(cfg.evaluator_names())
            self.report.store_fault_daemon = self.rng.choice(names)
            for name in names:
                what = "smollm2-135m" if name.startswith("inference") else cfg.evaluator_names()[name]
                self.report.daemons[name] = what
                self.daemons[name] = Proc(name, self.logs / f"{name}.log", lambda n=name: self.node_args(n))
            self.say(f"devnet up ({self.deployment.rpc_url}, proxy {self.proxy.url}); starting {len(names)} "
                     f"daemons; {self.report.store_fault_daemon}'s store is on the tmpfs {self.tmpfs}")
            self.phase = 1
            for d in self.daemons.values():
                d.start(self.phase)
            self.wait_ready(list(self.daemons.values()))
            self.say("every daemon is ready")
            for index, rounds in enumerate(cfg.phase_rounds(), 1):
                if index > 1:
                    self.redeploy()
                self.phase = index
                self.run_phase(index, rounds)
            self.finish()
        except Exception as exc:  # noqa: BLE001 - a campaign that could not finish fails, with the reason
            self.say(f"the campaign stopped: {traceback.format_exc()}")
            self.check("the campaign ran to the end", False, f"{type(exc).__name__}: {exc}")
        finally:
            self.clean_up()
        self.report.wall = self.now()
        self.say(f"done in {self.report.wall:.0f}s: {'PASS' if self.report.ok else 'FAIL'}")
        return self.report

    def run_phase(self, index: int, rounds: int) -> None:
        """Open ``rounds`` rounds with ``poq requester`` and inject faults until it exits; then check the phase."""
        cfg = self.cfg
        result = PhaseResult(index, self.deployment.deploy_block_hash or "", rounds)
        self.report.phases.append(result)
        offsets = {name: d.size() for name, d in self.daemons.items()}
        start = time.monotonic()
        requester = Proc(f"requester-{index}", self.logs / f"requester-{index}.log", lambda: [
            "requester", "--rounds", str(rounds), "--parallel", str(cfg.parallel), "--slots", str(cfg.slots),
            "--committee", str(cfg.committee), "--budget-eth", "1", "--no-progress",
            "--deployment", str(self.deployment.path), "--rpc", self.proxy.url, "--poll", str(cfg.poll)])
        self.requester = requester
        requester.start(index)
        requester.held = True  # not a supervised daemon: its exit ends the phase
        self.say(f"phase {index}: poq requester --rounds {rounds} --parallel {cfg.parallel} started")
        deadline = time.monotonic() + 600 + 150 * rounds  # a hung requester fails the phase, not the machine
        # Faults start once the requester is connected: a requester whose start-up fails ends the phase.
        while requester.alive() and "ready:" not in requester.output() and time.monotonic() < deadline:
            self.wait(0.25)
        next_fault = time.monotonic() + self.rng.uniform(cfg.gap_min, cfg.gap_max)
        while requester.alive() and time.monotonic() < deadline:
            if time.monotonic() >= next_fault:
                self.inject()
                next_fault = time.monotonic() + self.rng.uniform(cfg.gap_min, cfg.gap_max)
            self.wait(0.25)
        if requester.alive():
            self.say(f"phase {index}: the requester is still running at its deadline: stopping it")
            requester.stop()
            result.requester_rc = None
        else:
            result.requester_rc = requester.proc.returncode
        self.say(f"phase {index}: poq requester exited with {result.requester_rc}; "
                 f"last lines:\n{requester.output()[-600:].rstrip()}")
        self.settle_phase(result, requester, offsets)
        result.wall = time.monotonic() - start

    def next_kind(self) -> str:
        """The first deal is each kind once, so the first four faults cover every kind however fast the
        machine plays the rounds (a soak's length is its rounds, not a number of faults); later deals
        follow ``DECK``."""
        if not self.deck:
            self.deck = list(DECK if self.dealt else KINDS)
            self.rng.shuffle(self.deck)
            self.dealt = True
        return self.deck.pop()

    def inject(self) -> None:
        """One fault, drawn from the seed: kind, target and duration are drawn whatever the state."""
        kind = self.next_kind()
        targets = sorted(self.daemons)
        target = self.rng.choice(targets)
        duration = {"kill": self.rng.uniform(1, 5), "anvil_stop": self.rng.uniform(3, 8),
                    "rpc_cut": self.rng.uniform(3, 8), "disk_full": self.rng.uniform(3, 8)}[kind]
        t = self.now()
        logged = False
        if kind == "kill":
            d = self.daemons[target]
            note = f"was {'running' if d.alive() else 'down'}; last line: {d.last_line()}"
            d.kill()
            self.say(f"fault kill {target} (restart in {duration:.1f}s); {note}")
            self.wait(duration)
            d.start(self.phase)
        elif kind == "anvil_stop":
            target = f"anvil (pid {self.deployment.anvil_pid})"
            self.say(f"fault anvil_stop for {duration:.1f}s")
            os.kill(self.deployment.anvil_pid, signal.SIGSTOP)
            try:
                self.wait(duration)
            finally:
                os.kill(self.deployment.anvil_pid, signal.SIGCONT)
            note = "SIGSTOP, then SIGCONT"
        elif kind == "rpc_cut":
            target = f"proxy {self.proxy.url}"
            self.say(f"fault rpc_cut for {duration:.1f}s")
            self.proxy.block()
            try:
                self.wait(duration)
            finally:
                self.proxy.unblock()
            note = "every daemon and the requester lose the RPC"
        else:
            target = self.report.store_fault_daemon
            d = self.daemons[target]
            before = d.size()
            filled = self.fill_tmpfs()
            self.say(f"fault disk_full: {target}'s tmpfs filled ({filled / 2**20:.1f} MB filler); held "
                     f"{duration:.1f}s after its first store fault")
            # The daemon may be busy (a model's run) and write nothing for a while: the disk stays full
            # until it hit the fault (at most STORE_FAULT_WAIT s), then ``duration`` more.
            try:
                waited = 0.0
                while "store fault" not in d.text(before) and waited < STORE_FAULT_WAIT:
                    self.wait(0.5)
                    waited += 0.5
                self.wait(duration)
            finally:
                (self.tmpfs / "filler").unlink(missing_ok=True)
            logged = "store fault" in d.text(before)
            duration += waited
            note = (f"filler {filled / 2**20:.1f} MB; the daemon "
                    f"{f'logged a store fault after {waited:.1f}s' if logged else 'logged NO store fault'}")
        self.report.faults.append(Fault(kind, target, self.phase, t, duration, note,
                                        observed=kind != "disk_full" or logged))

    def fill_tmpfs(self) -> int:
        """Write a filler file until the tmpfs is full (ENOSPC); its size in bytes."""
        written = 0
        chunk = b"\0" * 65536
        with open(self.tmpfs / "filler", "wb", buffering=0) as fh:
            while True:
                try:
                    written += fh.write(chunk)
                except OSError:
                    break
            for size in (4096, 512, 1):  # the last partial blocks too
                while True:
                    try:
                        written += fh.write(chunk[:size])
                    except OSError:
                        break
        return written

    def redeploy(self) -> None:
        """``devnet.down`` + ``devnet.up`` under the running daemons; every one must notice and exit 2."""
        # Every daemon follows the old chain first (one the last fault restarted may still be starting).
        self.wait_ready(list(self.daemons.values()))
        old_hash = self.deployment.deploy_block_hash
        before = {name: d.proc for name, d in self.daemons.items()}
        t = self.now()
        self.say("fault redeploy: devnet down + up on the same state dir, daemons running")
        devnet.down(self.deployment.path, log=lambda msg: None)
        self.deployment = self.up()
        self.proxy.retarget(self.anvil_port())
        self.phase += 1
        # Each daemon must see the new deploy block hash and exit 2; the supervisor restarts it.
        deadline = time.monotonic() + 180
        while any(p.poll() is None for p in before.values()) and time.monotonic() < deadline:
            self.wait(0.5)
        missed = [name for name, p in before.items() if p.poll() is None]
        noticed = [name for name, p in before.items() if p.returncode == 2
                   and any(e.name == name and e.reason == REDEPLOY_EXIT for e in self.report.exits)]
        for name in missed:  # still on the old chain: stop it, so phase 2 runs on the new deployment
            self.say(f"{name} did not notice the redeploy within 180s: restarting it")
            self.daemons[name].stop()
            self.daemons[name].start(self.phase)
        self.wait(0.5)
        self.check(f"redeploy before phase {self.phase}: every running daemon noticed the replaced chain and "
                   "exited with code 2", not missed and len(noticed) == len(before),
                   f"{len(noticed)}/{len(before)} exited 2" + (f"; missed: {missed}" if missed else ""))
        self.report.faults.append(Fault("redeploy", "devnet", self.phase, t, self.now() - t,
                                        f"deploy block hash {old_hash[:10]} -> "
                                        f"{self.deployment.deploy_block_hash[:10]}; "
                                        f"{len(noticed)}/{len(before)} daemons exited 2 and were restarted"))
        self.wait_ready(list(self.daemons.values()))
        self.say("every daemon follows the new deployment")

    # ------------------------------------------------------------------ invariants

    def settle_phase(self, result: PhaseResult, requester: Proc, offsets: dict[str, int]) -> None:
        """Wait for the nodes to withdraw, then check the phase's invariants from the chain and the logs."""
        from oracle.chain.client import dev_account
        from oracle.chain.ledger import build_rounds, check_against_reference, stakes_at_settlement

        p = f"phase {result.index}"
        client = self.client()
        accounts = [a for a in self.deployment.accounts if a.role in ("inference", "evaluator", "requester")]
        deadline = time.monotonic() + 90  # a daemon withdraws right after it sees its round settled
        while any(client.balance_of(a.address) for a in accounts) and time.monotonic() < deadline:
            self.wait(1.0)
        owed = {a.name: client.balance_of(a.address) for a in accounts if client.balance_of(a.address)}
        self.check(f"{p}: every daemon withdrew what settlement credited it, on its own", not owed,
                   ", ".join(f"{n} still owed {w} wei" for n, w in owed.items())
                   or f"balance 0 for all {len(accounts)} node and requester accounts")
        harness = []
        for name, amount in owed.items():  # the daemon did not withdraw: can the node still get it?
            address = self.deployment.account(name).address
            index = next(i for i in range(ANVIL_ACCOUNTS) if dev_account(i).address == address)
            before = client.w3.eth.get_balance(address)
            client.withdraw(dev_account(index))
            harness.append(f"{name}: {amount} wei withdrawn by the harness, "
                           f"{'arrived' if client.w3.eth.get_balance(address) > before else 'DID NOT ARRIVE'}")
        still = [a.name for a in accounts if client.balance_of(a.address)]

        events = client.events(self.deployment.deploy_block)
        rounds = build_rounds(events, client.params)
        stakes = stakes_at_settlement(events)
        result.opened = len(rounds)
        result.settled = sum(1 for r in rounds.values() if r.settled)
        result.slashes = sum(1 for e in events if e["event"] == "Slashed")
        lost = result.lost
        self.check(f"{p}: every round reached Settled and the requester exited 0",
                   result.requester_rc == 0 and lost == 0 and result.opened == result.requested,
                   f"{result.settled}/{result.opened} settled of {result.requested} requested, lost {lost}, "
                   f"requester exit {result.requester_rc}")
        slashed = [f"round {e['args'].get('roundId')}: {self.deployment.names().get(e['args'].get('node'), e['args'])}"
                   for e in events if e["event"] == "Slashed"]
        self.check(f"{p}: no honest node was slashed", not slashed, ", ".join(slashed) or "0 Slashed events")
        mismatches = []
        for rid, r in sorted(rounds.items()):
            if r.settled:
                diffs = check_against_reference(r, client.params(r.params_version), stakes.get(rid))
                mismatches += [f"round {rid}: {d}" for d in diffs]
        self.check(f"{p}: every payout equals the reference model", not mismatches and result.settled > 0,
                   "; ".join(mismatches[:5]) or f"{result.settled} rounds equal to the wei")
        salt = []
        for name, d in self.daemons.items():
            for line in d.text(offsets.get(name, 0)).splitlines():
                if any(s in line for s in SALT_LOST):
                    salt.append(f"{name}: {line[:160]}")
        salt += [f"requester: {ln[:160]}" for ln in requester.text().splitlines() if any(s in ln for s in SALT_LOST)]
        self.check(f"{p}: no salt lost (no LOST SALT / 'stake will be slashed' in any log)", not salt,
                   "; ".join(salt[:5]))
        self.check(f"{p}: every node can withdraw what it is owed", not still and not any("NOT" in h for h in harness),
                   ("; ".join(harness) if harness else "nothing left to withdraw")
                   + (f"; still owed: {still}" if still else ""))

    def finish(self) -> None:
        """Stop the daemons, then check every store file read-only, and that no daemon crashed."""
        for d in self.daemons.values():
            d.stop()
        crashes = [f"{e.name} ({e.code}) at {e.t:.0f}s" for e in self.report.exits if not e.expected]
        reasons = {}
        for e in self.report.exits:
            reasons[e.reason] = reasons.get(e.reason, 0) + 1
        self.check("no daemon crashed (every exit the harness did not cause was a noticed redeploy or a start-up "
                   "refused during an RPC outage)", not crashes,
                   ", ".join(crashes) or ", ".join(f"{n} x {r}" for r, n in reasons.items()) or "no exits")
        files = sorted((self.state / "stores").glob("*.sqlite")) + sorted(self.tmpfs.glob("*.sqlite"))
        bad, lost, statuses = [], [], {}
        for path in files:
            try:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    (check,) = db.execute("PRAGMA quick_check").fetchone()
                    rows = db.execute("SELECT key, status FROM items").fetchall()
                finally:
                    db.close()
            except sqlite3.Error as exc:
                bad.append(f"{path.name}: {exc}")
                continue
            if check != "ok":
                bad.append(f"{path.name}: {check}")
            for key, status in rows:
                statuses[status] = statuses.get(status, 0) + 1
                if status == "lost":
                    lost.append(f"{path.name} {key}")
        self.check("no store is corrupt (PRAGMA quick_check on every store file, read-only)",
                   not bad and bool(files), "; ".join(bad) or f"{len(files)} store files ok")
        self.check("no store record is lost", not lost,
                   "; ".join(lost[:5]) or "records: " + ", ".join(f"{k} {n}" for k, n in sorted(statuses.items())))
        disk = [f for f in self.report.faults if f.kind == "disk_full"]
        unseen = [f"t {f.t:.0f}s" for f in disk if not f.observed]
        self.check(f"every full-disk fault made {self.report.store_fault_daemon}'s store refuse a write (it "
                   "logged a store fault) and the daemon went on", bool(disk) and not unseen,
                   f"{len(disk) - len(unseen)}/{len(disk)} faults seen by the daemon"
                   + (f"; not seen: {', '.join(unseen)}" if unseen else ""))
        counts = self.report.counts()
        wanted = (*KINDS, "redeploy") if self.cfg.phases > 1 else KINDS
        missing = [k for k in wanted if not counts.get(k)]
        self.check("faults of every kind were injected", not missing,
                   ", ".join(f"{k} {counts.get(k, 0)}" for k in wanted) + (f"; none of {missing}" if missing else ""))

    def clean_up(self) -> None:
        """Whatever happened: Anvil running again, daemons stopped, tmpfs unmounted, devnet down."""
        if self.deployment is not None and self.deployment.anvil_pid:
            try:
                os.kill(self.deployment.anvil_pid, signal.SIGCONT)
            except OSError:
                pass
        for d in [*self.daemons.values(), *([self.requester] if self.requester else [])]:
            d.stop(10)
        if self.proxy is not None:
            self.proxy.close()
        (self.tmpfs / "filler").unlink(missing_ok=True)
        self.unmount_tmpfs()
        if self.deployment is not None:
            try:
                devnet.down(self.deployment.path, log=lambda msg: None)
            except Exception as exc:  # noqa: BLE001 - clean-up goes on
                self.say(f"devnet down failed: {exc}")


def run_campaign(cfg: Config, out: Callable[[str], None] = print, command: str = "") -> Report:
    """Run the soak ``cfg`` describes; the report (``report.ok``: every invariant held)."""
    errors = validate(cfg)
    if errors:
        raise ValueError("; ".join(errors))
    return Campaign(cfg, out, command).run()


def _gap(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give MIN,MAX seconds, e.g. 4,12") from None
    return lo, hi


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tests/node/chaos.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Config()
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the fault plan (default 1)")
    p.add_argument("--inference", type=int, default=d.inference, help="inference daemons (default 4)")
    p.add_argument("--evaluators", type=int, default=d.evaluators, help="evaluator daemons (default 6)")
    p.add_argument("--rounds", type=int, default=d.rounds, help="rounds in all, split over the phases (default 12)")
    p.add_argument("--phases", type=int, default=d.phases, help="phases; a redeploy between two (default 2)")
    p.add_argument("--parallel", type=int, default=d.parallel, help="rounds in flight at once (default 3)")
    p.add_argument("--slots", type=int, default=d.slots, help="inference slots per round (default 3)")
    p.add_argument("--committee", type=int, default=d.committee, help="committee size (default 3)")
    p.add_argument("--window", type=int, default=d.window, help="blocks per stage window (default 60)")
    p.add_argument("--commit-window", type=int, default=d.commit_window,
                   help="blocks of the commit window (default 180)")
    p.add_argument("--gap", type=_gap, default=(d.gap_min, d.gap_max),
                   help="MIN,MAX seconds between faults (default 4,12)")
    p.add_argument("--tmpfs-mb", type=int, default=d.tmpfs_mb, help="size of the full-disk daemon's tmpfs (default 16)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="where the devnet, logs and stores go (default: a new temp dir)")
    p.add_argument("--report", type=Path, default=None, help="also write the report (Markdown) to this file")
    args = p.parse_args(argv)
    cfg = Config(seed=args.seed, inference=args.inference, evaluators=args.evaluators, rounds=args.rounds,
                 phases=args.phases, parallel=args.parallel, slots=args.slots, committee=args.committee,
                 window=args.window, commit_window=args.commit_window, gap_min=args.gap[0], gap_max=args.gap[1],
                 tmpfs_mb=args.tmpfs_mb, workdir=args.workdir)
    errors = validate(cfg)
    if errors:
        p.error("; ".join(errors))
    if args.workdir is not None and args.workdir.exists() and any(args.workdir.iterdir()):
        p.error(f"--workdir {args.workdir}: not empty; give a new or empty folder")
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "tests/node/chaos.py", *(argv or sys.argv[1:])])

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    # SIGTERM (and SIGINT, which a shell's background job ignores) stop the soak with its clean-up:
    # Anvil continued, daemons stopped, tmpfs unmounted, devnet down.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    report = Campaign(cfg, lambda msg: print(msg, flush=True), command).run()  # progress as it happens
    text = report.text()
    print(text)
    if args.report is not None:
        args.report.write_text(text, encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
