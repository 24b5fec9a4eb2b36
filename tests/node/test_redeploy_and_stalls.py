"""A devnet redeployed under a running daemon, and an RPC that stalls (issue 11, cases 1 and 4).

On dff63f8 a daemon kept its old store across ``poq devnet down`` / ``up`` (same
chain id, same address) and skipped every new round as done; a stopped Anvil
showed its first timeout after 52 s (web3 retried five times underneath), a
15 s stall logged nothing, and the explorer's ``/api/status`` did not answer.
Here a real evaluator daemon (token_f1: no weights to load) follows a real
devnet, and the test stops Anvil with SIGSTOP.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests
from conftest import NodeProcess

from node.store import Binding, Store, StoreMismatch
from oracle.chain import devnet
from oracle.chain.client import ChainError
from oracle.chain.deployment import Deployment
from oracle.explorer.index import ChainIndex
from oracle.explorer.server import ExplorerServer

pytestmark = pytest.mark.slow

QUIET = {"log": lambda msg: None}


def _evaluator(deployment: Deployment, logs, name: str = "evaluator-1", *extra: str) -> NodeProcess:
    return NodeProcess(name, ["node", "evaluator", "--evaluator", "token_f1", "--node", name, "--deployment",
                              str(deployment.path), "--poll", "0.3", *extra], logs / f"{name}.log")


@pytest.fixture()
def devnet_dir(tmp_path):
    state = tmp_path / "devnet"
    yield state
    if (state / "deployment.json").exists():
        devnet.down(state / "deployment.json", **QUIET)


def test_a_redeployed_devnet_stops_the_old_daemon_and_its_restart_starts_a_new_store(devnet_dir, tmp_path):
    first = devnet.up(devnet_dir, inference=1, evaluators=1, window=30, **QUIET)
    port = int(first.rpc_url.rsplit(":", 1)[1])
    proc = _evaluator(first, tmp_path).start()
    try:
        proc.wait_for("ready:", timeout=120)
        (old_store,) = (devnet_dir / "stores").glob("evaluator-1-*.sqlite")
        stale = Deployment.load(first.path)  # a copy of the old file, for the check below

        devnet.down(first.path, **QUIET)
        second = devnet.up(devnet_dir, inference=1, evaluators=1, window=30, port=port, **QUIET)
        assert (second.chain_id, second.address) == (first.chain_id, first.address)
        assert second.deploy_block_hash != first.deploy_block_hash

        assert proc.wait_exit(120) == 2  # it stops before acting on the new chain's rounds
        assert "the chain was replaced under this daemon" in proc.output()
    finally:
        proc.stop()

    with pytest.raises(ChainError, match="the chain was restarted or redeployed"):
        stale.connect()  # the old deployment file does not pass for the new chain

    proc.start()
    try:
        proc.wait_for("ready:", timeout=120)
        stores = set((devnet_dir / "stores").glob("evaluator-1-*.sqlite"))
        assert old_store in stores and len(stores) == 2  # a new store; the old deployment's is kept
    finally:
        proc.stop()
    client = second.connect()
    address = second.account("evaluator-1").address
    with pytest.raises(StoreMismatch, match="bound to one deployment"):
        Store(old_store, Binding.of(client, second.deploy_block, address))

    reuse = _evaluator(second, tmp_path, "evaluator-1", "--store", str(old_store)).start()
    assert reuse.wait_exit(120) == 2 and "belongs to chain" in reuse.output()


def test_a_stalled_chain_shows_within_seconds_in_the_daemon_and_the_explorer_answers(devnet_dir, tmp_path):
    deployment = devnet.up(devnet_dir, inference=1, evaluators=1, window=30, **QUIET)
    proc = _evaluator(deployment, tmp_path).start()
    index = ChainIndex(deployment.connect(timeout=5.0), deployment.deploy_block)
    server = ExplorerServer(index, port=0)
    server.start_background()
    try:
        proc.wait_for("ready:", timeout=120)
        assert requests.get(f"{server.url}/api/status", timeout=10).json()["chain"] == "ok"

        os.kill(deployment.anvil_pid, signal.SIGSTOP)
        try:
            # A read of the explorer's own is stuck on the stopped chain meanwhile.
            threading.Thread(target=lambda: requests.get(f"{server.url}/api/rounds", timeout=30),
                             daemon=True).start()
            time.sleep(0.5)
            status = requests.get(f"{server.url}/api/status", timeout=15).json()
            assert status["chain"] == "not responding" and status["head"] >= deployment.deploy_block
            # The daemon's first request times out after 10 s, and says so: no silent minute.
            proc.wait_for("RPC fault while following events", timeout=25)
        finally:
            os.kill(deployment.anvil_pid, signal.SIGCONT)
        proc.wait_for("back: following events succeeded", timeout=60)

        mark = len(proc.output())
        os.kill(deployment.anvil_pid, signal.SIGSTOP)
        time.sleep(6)  # a stall shorter than the timeout: no fault, but a log line
        os.kill(deployment.anvil_pid, signal.SIGCONT)
        deadline = time.monotonic() + 30
        while "took" not in proc.output()[mark:] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "WARNING RPC eth_" in proc.output()[mark:], proc.output()[-2000:]
        assert requests.get(f"{server.url}/api/status", timeout=15).json()["chain"] == "ok"
    finally:
        os.kill(deployment.anvil_pid, signal.SIGCONT)
        server.shutdown()
        server.server_close()
        proc.stop()
