"""Real daemons on a real devnet: rounds settle as the reference model says, and crashes and RPC
outages lose no round, salt or reward.

Every daemon is a separate ``poq node`` process talking JSON-RPC through a
proxy the test can cut; the requester is ``poq requester``. Tests share one network
(module fixture) and each plays its own rounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import MODEL_ARGS, NodeProcess

from node.store import Binding, Store
from oracle.chain.client import ContractRevert, TaskSpec, dev_account
from oracle.chain.ledger import check_against_reference, stakes_at_settlement
from oracle.pipeline.tasks import builtin_tasks
from oracle.protocol.commitments import new_salt, reference_commitment
from oracle.protocol.params import Entry, Stage
from oracle.protocol.task import encode_references, task_digest, task_uri

pytestmark = pytest.mark.slow

ROUND_TIMEOUT = 240  # seconds for one oracle run on a loaded 2-core machine
WITHDRAW_TIMEOUT = 60  # seconds for a daemon's poll loop to see a settled round and withdraw


def _eventually(condition, what: str, timeout: float = WITHDRAW_TIMEOUT) -> None:
    """Poll ``condition`` every 0.2 s until it holds; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.2)


def _names(net) -> dict[str, str]:
    return {a.name: a.address for a in net.deployment.accounts}


def _new_rounds(net, before: set[int]) -> list:
    return [r for rid, r in sorted(net.rounds().items()) if rid not in before]


def test_rounds_settle_as_the_reference_model_says_and_nodes_withdraw(network):
    before = set(network.rounds())
    oracle = network.requester(rounds=3)
    assert oracle.wait_exit(ROUND_TIMEOUT * 2) == 0, oracle.output()[-3000:]

    rounds = _new_rounds(network, before)
    assert len(rounds) == 3 and all(r.settled for r in rounds)
    params = network.deployment.protocol_params()
    names = _names(network)
    for r in rounds:
        assert check_against_reference(r, params) == []
        assert {p["node"] for p in r.inference_paid} == {names["inference-1"], names["inference-2"]}
        assert {p["node"] for p in r.evaluator_paid} == {names[f"evaluator-{i}"] for i in (1, 2, 3)}
        assert r.reference is not None and not r.slashes
        assert sum(p["amount"] for p in r.inference_paid + r.evaluator_paid) == r.paid > 0

    # Pull payments: each node withdraws what settlement credited it (in its own poll loop, so
    # wait for it); then the contract owes it nothing.
    client = network.chain()
    credited = {}
    for r in network.rounds().values():
        for p in r.inference_paid + r.evaluator_paid:
            credited[p["node"]] = credited.get(p["node"], 0) + p["amount"]

    def withdrawn() -> dict:
        total = {}
        for ev in client.events(network.deployment.deploy_block, names=["Withdrawn"]):
            total[ev["args"]["account"]] = total.get(ev["args"]["account"], 0) + ev["args"]["amount"]
        return total

    def all_withdrawn() -> bool:
        return all(client.balance_of(node) == 0 for node in credited) and \
            all(withdrawn().get(node) == amount for node, amount in credited.items())

    _eventually(all_withdrawn, "the daemons did not withdraw what settlement credited them")
    final = withdrawn()
    for node, amount in credited.items():
        assert client.balance_of(node) == 0
        assert final[node] == amount


PAUSE = {"POQ_TEST_PAUSE_AFTER_COMMIT": "600"}  # the daemon sleeps right after its durable commit
NO_PAUSE = {"POQ_TEST_PAUSE_AFTER_COMMIT": "0"}


def _identity(net, name: str) -> Binding:
    return Binding.of(net.chain(), net.deployment.deploy_block, _names(net)[name])


def _kill_in_commit_reveal_window(net, proc) -> int:
    """SIGKILL ``proc`` while it pauses after its commit; check store and chain agree it committed; its round."""
    proc.wait_for("pausing", timeout=ROUND_TIMEOUT)
    proc.kill()
    store_path = next((net.deployment.folder / "stores").glob(f"{proc.name}-*.sqlite"))
    store = Store(store_path, identity=_identity(net, proc.name))
    (rec,) = [r for r in store.pending("round:") if r.status == "committed"]
    store.close()
    round_id = int(rec.key.split(":")[1])
    client, address = net.chain(), _names(net)[proc.name]
    entry = (client.submission(round_id, address) if proc.name.startswith("inference")
             else client.evaluation(round_id, address))
    # v2 stores a state byte per entry, not the commitment: the commitment is the one in its event.
    assert entry["committed"] and not entry["revealed"]
    assert client.commitment(round_id, address).hex() == rec.data["commitment"]
    return round_id


def _restart_and_expect_reveal(proc, round_id: int) -> None:
    proc.start(env=NO_PAUSE)
    proc.wait_for(f"round {round_id}: revealed", timeout=ROUND_TIMEOUT)
    assert "resuming 1 round(s) in flight" in proc.output()


def test_killed_inference_daemons_the_restarted_one_is_paid_the_vanished_one_is_slashed(network):
    """inference-2 and inference-3 are SIGKILLed between commit and reveal; only inference-2 comes back."""
    network.nodes["inference-2"].stop()
    restarted = network.inference("inference-2", env=PAUSE).start()
    vanished = network.inference("inference-3", env=PAUSE).start()
    for proc in (restarted, vanished):
        proc.wait_for("ready:", timeout=240)
    oracle = network.requester(rounds=1, slots=3)
    round_id = _kill_in_commit_reveal_window(network, restarted)
    assert _kill_in_commit_reveal_window(network, vanished) == round_id
    _restart_and_expect_reveal(restarted, round_id)
    # inference-3 comes back without its store (deleted, or a new disk): it must say what was lost.
    for f in (network.deployment.folder / "stores").glob("inference-3-*.sqlite*"):
        f.unlink()
    vanished.start(env=NO_PAUSE)
    vanished.wait_for(f"round {round_id}: LOST SALT: this account committed 0x", timeout=ROUND_TIMEOUT)
    assert "stake will be slashed at settlement" in vanished.output()
    assert oracle.wait_exit(ROUND_TIMEOUT) == 0, oracle.output()[-3000:]

    r = network.rounds()[round_id]
    names, params = _names(network), network.deployment.protocol_params()
    assert r.settled and check_against_reference(r, params) == []
    assert {p["node"] for p in r.inference_paid} == {names["inference-1"], names["inference-2"]}
    assert r.committed.count(names["inference-2"]) == 1  # resumed, not committed twice
    assert [(s["node"], s["amount"]) for s in r.slashes] == [(names["inference-3"], params.slash_amount)]
    client = network.chain()  # it withdraws its pay after the restart, in its own poll loop
    _eventually(lambda: client.balance_of(names["inference-2"]) == 0, "inference-2 did not withdraw its pay")
    assert client.balance_of(names["inference-2"]) == 0

    payouts = subprocess.run([sys.executable, "-m", "poq", "payouts", "--json",
                              "--deployment", str(network.deployment.path)],
                             capture_output=True, text=True, timeout=120)
    assert payouts.returncode == 0, payouts.stderr
    data = json.loads(payouts.stdout)
    (node,) = [n for n in data["nodes"] if n["node"] == "inference-3"]
    assert node["slashes"] == 1 and node["slashed_wei"] == params.slash_amount
    (entry,) = [e for e in data["rounds"] if e["round"] == round_id]
    assert entry["slashes"] == [{"node": "inference-3", "amount_wei": params.slash_amount}]
    table = subprocess.run([sys.executable, "-m", "poq", "payouts",
                            "--deployment", str(network.deployment.path)],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert "inference-3 slashed" in table.stdout


def test_a_node_slashed_below_min_stake_takes_no_rounds_and_says_so(network):
    """inference-3, slashed above, now holds less than min_stake: it must not run its model for nothing."""
    names, params = _names(network), network.deployment.protocol_params()
    assert network.chain().node(names["inference-3"])["stake"] < params.min_stake
    before = set(network.rounds())
    oracle = network.requester(rounds=1, slots=2)
    assert oracle.wait_exit(ROUND_TIMEOUT) == 0, oracle.output()[-3000:]
    (r,) = _new_rounds(network, before)
    assert names["inference-3"] not in r.committed
    out = network.nodes["inference-3"].output()
    assert "is below the minimum 1.000000 ETH (slashed?): this node takes no rounds" in out
    assert f"round {r.round_id}: not taking it: stake 0.500000 ETH below the minimum" in out
    assert f"round {r.round_id}: smollm2-135m answered" not in out


def test_a_second_daemon_on_one_key_is_refused_and_a_key_of_another_role_too(network):
    """Two daemons on one key clash and both are slashed; the second must not start (store or account lock)."""
    first = network.nodes["inference-1"]
    try:
        for extra in ([], ["--store", str(network.deployment.folder / "elsewhere.sqlite")]):
            second = network.node("inference-1", ["node", "inference", *MODEL_ARGS, *extra]).start()
            assert second.wait_exit(120) == 2
            assert "is in use by another running daemon" in second.output() and "Traceback" not in second.output()
    finally:
        network.nodes["inference-1"] = first  # the running one stays the network's
    assert first.proc.poll() is None
    d = network.deployment
    wrong = NodeProcess("wrong-role", ["node", "evaluator", "--evaluator", "token_f1", "--keystore",
                                       str(d.resolve(d.account("inference-3").keystore)), "--password-file",
                                       str(d.resolve(d.password_file)), "--deployment", str(d.path)],
                        network.logs / "wrong-role.log").start()
    assert wrong.wait_exit(120) == 2
    assert "is registered as inference on PoQ" in wrong.output() and "would idle" in wrong.output()


def test_a_requester_killed_and_started_again_with_rounds_1_opens_one_round_in_all(network):
    """``--rounds 1`` twice, the first run SIGKILLed after it opened its round: one round, one budget."""
    before = set(network.rounds())
    oracle = network.requester(rounds=1, slots=2)
    oracle.wait_for("opened for task", timeout=120)
    oracle.kill()
    again = network.requester(rounds=1, slots=2)
    assert again.wait_exit(ROUND_TIMEOUT) == 0, again.output()[-3000:]
    assert "resuming 1 round(s) from the store" in again.output()
    (r,) = _new_rounds(network, before)
    assert r.settled and "opened for task" not in again.output()


def test_evaluator_daemon_killed_between_commit_and_reveal_reveals_after_restart_and_is_paid(network):
    network.nodes["evaluator-1"].stop()
    proc = network.evaluator("evaluator-1", env=PAUSE).start()
    proc.wait_for("ready:", timeout=240)
    oracle = network.requester(rounds=1, slots=2)
    round_id = _kill_in_commit_reveal_window(network, proc)
    _restart_and_expect_reveal(proc, round_id)
    assert oracle.wait_exit(ROUND_TIMEOUT) == 0, oracle.output()[-3000:]

    r = network.rounds()[round_id]
    address = _names(network)["evaluator-1"]
    assert r.settled and not r.slashes
    assert address in {p["node"] for p in r.evaluator_paid}
    assert r.score_commits.count(address) == 1
    assert check_against_reference(r, network.deployment.protocol_params()) == []


def test_daemons_ride_out_an_rpc_outage_without_losing_the_round(network):
    before = set(network.rounds())
    oracle = network.requester(rounds=1, slots=2)
    oracle.wait_for("opened for task", timeout=120)
    offsets = {name: len(p.text()) for name, p in network.nodes.items()}
    network.proxy.block()  # every daemon and the requester lose the RPC ...
    time.sleep(6)
    network.proxy.unblock()  # ... and get it back, well inside the round's deadlines
    assert oracle.wait_exit(ROUND_TIMEOUT) == 0, oracle.output()[-3000:]

    (r,) = _new_rounds(network, before)
    assert r.settled and not r.slashes
    assert len(r.inference_paid) == 2 and len(r.evaluator_paid) == 3
    assert check_against_reference(r, network.deployment.protocol_params()) == []
    faults = [name for name, p in network.nodes.items() if "RPC fault" in p.text()[offsets[name]:]]
    assert len(faults) >= 3, f"only {faults} logged the outage"
    assert "RPC fault" in oracle.output()


# ---------------------------------------------------------------------- v2: dust, no reference, withheld, absent
# Rounds the test opens and drives itself (as the owner account, not the requester daemon).

def _open(client, requester, task, *, reference: bool, slots: int = 2, committee: int = 3,
          budget: int = 10**18) -> int:
    """Open a round for ``task`` straight through the client; with ``reference`` it commits to the task's."""
    th = task_digest(task)
    commitment = (reference_commitment(client.chain_id, client.address, requester.address, th,
                                       encode_references(task.references), new_salt()) if reference
                  else b"\x00" * 32)
    return client.open_round(requester, TaskSpec(th, task_uri(task), task.kind, slots, committee, commitment),
                             budget, params_version=client.params_version())


def _drive(client, account, rid: int, timeout: float = ROUND_TIMEOUT) -> None:
    """What a requester that never reveals does: advance past each deadline, then settle."""
    deadline = time.monotonic() + timeout
    while True:
        state = client.round(rid)
        if state["stage"] == Stage.SETTLED:
            return
        if state["expired"]:
            client.advance(account, rid)
        elif state["stage"] == Stage.SETTLEABLE:
            client.settle(account, rid)
        if time.monotonic() > deadline:
            pytest.fail(f"round {rid} still in {Stage(state['stage']).name} after {timeout:.0f}s")
        time.sleep(0.5)


def _checked(net, rid: int):
    """The settled round, checked against the reference model with the stakes its settlement found."""
    client = net.chain()
    events = client.events(net.deployment.deploy_block)
    r = net.rounds()[rid]
    assert r.settled
    assert check_against_reference(r, client.params(r.params_version), stakes_at_settlement(events)[rid]) == []
    return r


def test_the_inference_daemons_refuse_a_dust_round_and_the_contract_one_below_min_budget(network):
    client = network.chain()
    owner = dev_account(0)
    params = client.params(client.params_version())
    task = next(t for t in builtin_tasks() if t.kind == "qa")
    with pytest.raises(ContractRevert) as err:
        _open(client, owner, task, reference=False, budget=params.min_budget - 1)
    assert err.value.name == "BudgetTooLow"
    # A legal budget whose slot share is below the daemons' default minimum (1e14 wei): 8e14 / 9 slots.
    rid = _open(client, owner, task, reference=False, slots=9, committee=1, budget=params.min_budget)
    for name in ("inference-1", "inference-2"):
        network.nodes[name].wait_for(f"round {rid}: not taking it, a dust round: its slot share", timeout=60)
        assert client.submission(rid, _names(network)[name])["entry"] == Entry.NONE


def test_a_round_without_a_reference_is_scored_against_the_source_and_nobody_is_slashed(network):
    client = network.chain()
    owner = dev_account(0)
    offsets = {name: len(p.text()) for name, p in network.nodes.items()}
    task = next(t for t in builtin_tasks() if t.kind == "qa")
    rid = _open(client, owner, task, reference=False)
    _drive(client, owner, rid)
    r = _checked(network, rid)
    names = _names(network)
    assert not r.has_reference and not r.slashes and not r.compensation
    assert {p["node"] for p in r.evaluator_paid} == {names[f"evaluator-{i}"] for i in (1, 2, 3)}
    for name in ("evaluator-1", "evaluator-2", "evaluator-3"):  # all three need a reference
        assert f"round {rid}: the round has no reference" in network.nodes[name].text()[offsets[name]:]


def test_a_withheld_reference_forfeits_the_pools_to_the_outputs_and_no_absent_member_is_slashed(network):
    client = network.chain()
    owner = dev_account(0)
    offsets = {name: len(p.text()) for name, p in network.nodes.items()}
    task = next(t for t in builtin_tasks() if t.kind == "qa" and t.references)
    rid = _open(client, owner, task, reference=True)
    _drive(client, owner, rid)  # never reveals: the Reference stage runs to its deadline
    r = _checked(network, rid)
    names = _names(network)
    assert r.reference_withheld and not r.slashes and not r.evaluator_paid
    assert set(r.committee) == {names[f"evaluator-{i}"] for i in (1, 2, 3)} and r.absent == r.committee
    outputs = {names["inference-1"], names["inference-2"]}
    assert {p["node"] for p in r.inference_paid} == outputs
    # Both pools' remainders (nobody scored: the evaluator pool too) go to the revealed outputs.
    assert {c["node"] for c in r.compensation} == outputs and len(r.compensation) == 4
    assert r.refund <= 2  # the requester gets back only the rounding dust of the two splits
    for name in ("evaluator-1", "evaluator-2", "evaluator-3"):
        assert f"round {rid}: the requester withheld its reference" in network.nodes[name].text()[offsets[name]:]
    for name in ("inference-1", "inference-2"):
        network.nodes[name].wait_for(f"round {rid}: settled: ", timeout=WITHDRAW_TIMEOUT)
        assert "compensated" in network.nodes[name].output().split(f"round {rid}: settled: ")[1].split("\n")[0]
    _eventually(lambda: all(client.balance_of(a) == 0 for a in outputs), "the outputs did not withdraw")


def test_an_absent_evaluator_is_slashed_and_learns_it_after_a_restart(network):
    names = _names(network)
    absent = network.nodes["evaluator-2"]
    absent.stop()
    before = set(network.rounds())
    oracle = network.requester(rounds=1, slots=2)
    assert oracle.wait_exit(ROUND_TIMEOUT) == 0, oracle.output()[-3000:]
    (r,) = _new_rounds(network, before)
    r = _checked(network, r.round_id)
    params = network.deployment.protocol_params()
    assert [(s["node"], s["amount"]) for s in r.slashes] == [(names["evaluator-2"], params.slash_amount)]
    assert r.slash_reason(names["evaluator-2"]) == "absent: drawn and never committed"
    assert {p["node"] for p in r.evaluator_paid} == {names["evaluator-1"], names["evaluator-3"]}
    assert not r.compensation
    # Back, the daemon finds the CommitteeDrawn it missed and says what the absence cost.
    absent.start()
    absent.wait_for(f"round {r.round_id}: the SCORE_COMMIT stage closed before this node could score: a drawn "
                    "member that never commits is slashed", timeout=120)
    # Top the stake back up to min_stake, so the evaluator is drawable again.
    client = network.chain()
    client.transact(dev_account(_account_index(network, "evaluator-2")), "addStake", value=params.slash_amount)
    assert client.node(names["evaluator-2"])["stake"] == params.min_stake


def _account_index(net, name: str) -> int:
    """The Anvil development account index of ``name`` (devnet.up hands them out in order)."""
    address = _names(net)[name]
    return next(i for i in range(20) if dev_account(i).address == address)
