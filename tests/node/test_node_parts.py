"""The daemons' parts that need no chain: store durability and binding, task wire format, keys, RPC faults,
the eth_getLogs range cap."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
from eth_account import Account
from web3.exceptions import Web3RPCError

from node.retry import Backoff, is_transient, retry
from node.store import Store, StoreMismatch
from oracle.chain import keys
from oracle.chain.client import MAX_LOG_RANGE, PoQClient
from oracle.pipeline.tasks import builtin_tasks
from oracle.protocol.task import decode_references, encode_references, task_digest, task_from_uri, task_uri


def test_a_record_written_by_one_process_is_there_for_the_next(tmp_path):
    path = tmp_path / "node.sqlite"
    # Written in a child process that exits without closing anything, as a crash would.
    code = (f"import os; from node.store import Store; s = Store({str(path)!r}, 'id'); "
            "s.put('round:7', 'planned', {'salt': 'ab'}); s.set_cursor(41); os._exit(0)")
    subprocess.run([sys.executable, "-c", code], check=True)
    store = Store(path, "id")
    assert store.get("round:7").data == {"salt": "ab"} and store.cursor() == 41
    rec = store.update(store.get("round:7"), "settled", done=True, paid=3)
    assert rec.data == {"salt": "ab", "paid": 3}
    assert store.pending("round:") == [] and [r.key for r in store.all("round:")] == ["round:7"]


def test_a_store_refuses_another_chain_contract_or_account(tmp_path):
    Store(tmp_path / "s.sqlite", "chain 1 / PoQ 0xA / 0xB").close()
    with pytest.raises(StoreMismatch, match="chain 1 / PoQ 0xA / 0xB"):
        Store(tmp_path / "s.sqlite", "chain 2 / PoQ 0xA / 0xB")


def test_the_task_travels_without_its_references_and_is_checked_against_its_hash():
    task = next(t for t in builtin_tasks() if t.kind == "qa")
    uri = task_uri(task)
    assert all(ref not in uri for ref in task.references if ref not in task.context)
    back = task_from_uri(uri, task_digest(task), decode_references(encode_references(task.references)))
    assert (back.id, back.context, back.question, back.references) == (task.id, task.context, task.question,
                                                                       task.references)
    with pytest.raises(ValueError, match="does not hash to the round's taskHash"):
        task_from_uri(uri, b"\x01" * 32)
    assert decode_references("plain answer") == ("plain answer",)


def test_keys_come_from_a_keystore_or_an_env_var_and_errors_never_echo_the_key(tmp_path, monkeypatch):
    acct = Account.create()
    path = keys.write_keystore(acct, tmp_path / "k.json", "pw", keys.DEVNET_SCRYPT_N)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv(keys.PASSWORD_ENV, "pw")
    assert keys.from_keystore(path).address == acct.address
    monkeypatch.setenv(keys.PASSWORD_ENV, "wrong")
    with pytest.raises(keys.KeyConfigError, match="wrong password"):
        keys.from_keystore(path)
    monkeypatch.setenv("NODE_KEY", acct.key.hex())
    assert keys.from_env("NODE_KEY").address == acct.address
    monkeypatch.setenv("NODE_KEY", "0xnot-a-key-0123")
    with pytest.raises(keys.KeyConfigError) as err:
        keys.from_env("NODE_KEY")
    assert "not-a-key" not in str(err.value)


def test_transient_rpc_faults_are_retried_and_others_are_not():
    import logging
    import threading

    assert is_transient(requests.ConnectionError("refused"))
    assert is_transient(requests.Timeout())
    assert is_transient(Web3RPCError("nonce too low"))
    assert not is_transient(Web3RPCError("execution reverted"))
    assert not is_transient(ValueError("bug"))

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise requests.ConnectionError("refused")
        return "ok"

    resyncs = []
    result = retry(flaky, "testing", logging.getLogger("t"), threading.Event(), on_transient=lambda: resyncs.append(1),
                   backoff=Backoff(base=0.01, cap=0.02))
    assert result == "ok" and len(calls) == 3 and len(resyncs) == 2
    with pytest.raises(ValueError):
        retry(lambda: (_ for _ in ()).throw(ValueError("bug")), "testing", logging.getLogger("t"),
              threading.Event())


def test_every_events_read_asks_get_logs_for_at_most_max_log_range_blocks():
    """The range cap lives in PoQClient.events, so callers asking for deploy block..latest get it too."""
    from types import SimpleNamespace

    head = 10 + 2 * MAX_LOG_RANGE + 5  # three requests from block 10: two full, one of 6 blocks
    queries = []
    eth = SimpleNamespace(get_logs=lambda q: queries.append(q) or [], get_block=lambda tag: {"number": head})
    client = object.__new__(PoQClient)  # no chain: only what events() reads
    client.w3, client.address, client._events = SimpleNamespace(eth=eth), "0x" + "ab" * 20, {}
    assert client.events(10, round_id=7) == []
    assert [(q["fromBlock"], q["toBlock"]) for q in queries] == [
        (10, 9 + MAX_LOG_RANGE), (10 + MAX_LOG_RANGE, 9 + 2 * MAX_LOG_RANGE), (10 + 2 * MAX_LOG_RANGE, head)]
    assert all(q["topics"][1] == "0x" + (7).to_bytes(32, "big").hex() for q in queries)
    queries.clear()
    assert client.events(head + 1, head) == [] and queries == []
