"""A devnet with real node daemons as separate processes, shared by the daemon tests of a module.

Anvil runs with interval + automatic mining (``poq devnet up``); every daemon
and the requester reach it through a loopback TCP proxy the tests can cut. The
inference daemons run the smallest packaged model (SmolLM2-135M, one thread
each) and the evaluators are cheap real ones, so a round takes seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tcp_proxy import TcpProxy

from oracle.chain import devnet
from oracle.chain.deployment import Deployment

ROOT = Path(__file__).resolve().parents[2]
PAUSE_ENV = "POQ_TEST_PAUSE_AFTER_COMMIT"  # tests/node/poq_paused_after_commit.py
WINDOW = 30  # blocks per stage (~30 s at a block a second): a killed daemon restarts in about 10 s
COMMIT_WINDOW = 120  # the models' stage: generous for a loaded 2-core machine; honest rounds end it early
MODEL_ARGS = ["--model", "smollm2-135m", "--threads", "1", "--max-new-tokens", "16"]
EVALUATORS = {"evaluator-1": "token_f1", "evaluator-2": "rouge_l", "evaluator-3": "minilm-onnx"}


class NodeProcess:
    """A ``poq`` subprocess whose output goes to a log file the test can wait on."""

    def __init__(self, name: str, args: list[str], log_path: Path, env: dict | None = None) -> None:
        self.name, self.args, self.log_path = name, args, log_path
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.offset = 0  # where this start's output begins in the (appended) log

    def start(self, env: dict | None = None) -> NodeProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               **self.extra_env, **(env or {})}
        self.offset = len(self.text())
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"----- start {' '.join(self.args)}\n")
            log.flush()
            # A pause after the commit (a test's way into the commit -> reveal window) needs the hooked poq.
            hooked = float(env.get(PAUSE_ENV, "0") or 0) > 0
            entry = [str(Path(__file__).with_name("poq_paused_after_commit.py"))] if hooked else ["-m", "poq"]
            self.proc = subprocess.Popen([sys.executable, *entry, *self.args], cwd=ROOT, env=env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def text(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""

    def output(self) -> str:
        """What the current start logged."""
        return self.text()[self.offset:]

    def wait_for(self, needle: str, timeout: float) -> None:
        """Until the current start logs ``needle``; fails if the process exits first."""
        deadline = time.monotonic() + timeout
        while needle not in self.output():
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited ({self.proc.returncode}) before logging {needle!r}:\n"
                            + self.output()[-3000:])
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} did not log {needle!r} within {timeout:.0f}s:\n" + self.output()[-3000:])
            time.sleep(0.2)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"{self.name} still running after {timeout:.0f}s:\n" + self.output()[-3000:])

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Network:
    deployment: Deployment
    proxy: TcpProxy
    logs: Path
    nodes: dict[str, NodeProcess] = field(default_factory=dict)

    def chain(self):
        """A client straight to Anvil (not through the proxy), for the test's own reads."""
        return self.deployment.connect()

    def node(self, name: str, args: list[str], env: dict | None = None) -> NodeProcess:
        common = ["--node", name, "--deployment", str(self.deployment.path), "--rpc", self.proxy.url,
                  "--poll", "0.3"]
        proc = NodeProcess(name, args + common, self.logs / f"{name}.log", env)
        self.nodes[name] = proc
        return proc

    def inference(self, name: str, env: dict | None = None) -> NodeProcess:
        return self.node(name, ["node", "inference", *MODEL_ARGS], env)

    def evaluator(self, name: str, env: dict | None = None) -> NodeProcess:
        return self.node(name, ["node", "evaluator", "--evaluator", EVALUATORS[name]], env)

    def requester(self, rounds: int, slots: int = 2) -> NodeProcess:
        proc = NodeProcess("requester", ["requester", "--rounds", str(rounds), "--slots", str(slots), "--no-progress",
                                      "--deployment", str(self.deployment.path), "--rpc", self.proxy.url,
                                      "--poll", "0.3", "--budget-eth", "1"], self.logs / "requester.log")
        return proc.start()

    def rounds(self):
        from oracle.chain.ledger import build_rounds

        return build_rounds(self.chain().events(self.deployment.deploy_block))


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """A devnet (3 inference and 3 evaluator accounts) and five running daemons: inference-1..2, evaluator-1..3."""
    state = tmp_path_factory.mktemp("devnet")
    deployment = devnet.up(state, inference=3, evaluators=3, window=WINDOW, commit_window=COMMIT_WINDOW,
                            log=lambda msg: None)
    port = int(deployment.rpc_url.rsplit(":", 1)[1])
    proxy = TcpProxy(port)
    logs = state / "logs"
    logs.mkdir()
    net = Network(deployment, proxy, logs)
    try:
        for name in ("inference-1", "inference-2"):
            net.inference(name).start()
        for name in EVALUATORS:
            net.evaluator(name).start()
        for proc in list(net.nodes.values()):
            proc.wait_for("ready:", timeout=240)
        yield net
    finally:
        for proc in net.nodes.values():
            proc.stop()
        proxy.close()
        devnet.down(deployment.path, log=lambda msg: None)
