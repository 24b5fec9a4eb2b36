"""A daemon's store under an operator's mistakes and a failing disk (issue 11, cases 1-3).

Each test reproduces what cost a node its stake on dff63f8: a store reused by
another deployment at the same address, two processes on one store, a file
that is not a store, and a full disk under a write. Real files, real
processes, a real tmpfs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from node.retry import is_transient
from node.store import Binding, Store, StoreCorrupt, StoreLocked, StoreMismatch, StoreUnavailable

ROOT = Path(__file__).resolve().parents[2]
OLD = Binding(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1, "0x" + "aa" * 32, "0x" + "bb" * 20)


def test_a_store_is_bound_to_the_deploy_block_hash_not_only_chain_and_address(tmp_path):
    """A devnet deployed again reuses chain id and address: only the block hash tells the stores apart."""
    path = tmp_path / OLD.file_name("inference-1")
    Store(path, OLD).close()
    redeployed = Binding(OLD.chain_id, OLD.contract, OLD.deploy_block, "0x" + "cc" * 32, OLD.account)
    with pytest.raises(StoreMismatch, match="deployed in block 1 \\(0xaaaaaaaa"):
        Store(path, redeployed)
    assert redeployed.file_name("inference-1") != OLD.file_name("inference-1")  # the default is a new file
    Store(tmp_path / redeployed.file_name("inference-1"), redeployed).close()


def _hold(path: Path) -> subprocess.Popen:
    """A child process that opens the store at ``path`` and keeps it until killed."""
    code = ("import sys, time; from node.store import Binding, Store; "
            f"s = Store({str(path)!r}, Binding(*{tuple(vars(OLD).values())!r})); print('open', flush=True); "
            "time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "open"
    return proc


def test_a_second_process_on_one_store_is_refused_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "s.sqlite"
    holder = _hold(path)
    try:
        with pytest.raises(StoreLocked, match=f"pid {holder.pid}.*both are slashed"):
            Store(path, OLD)
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # a crash: the kernel drops the flock
        holder.wait()
    Store(path, OLD).close()


@pytest.mark.parametrize("damage", ["random bytes", "truncated", "directory"])
def test_a_file_that_is_not_a_store_fails_with_its_path_named(tmp_path, damage):
    path = tmp_path / "s.sqlite"
    if damage == "random bytes":
        path.write_bytes(os.urandom(8192))
    elif damage == "truncated":
        store = Store(path, OLD)
        for k in range(200):
            store.put(f"round:{k}", "planned", {"salt": "ab" * 32, "output": "x" * 200})
        store.close()
        for side in ("-wal", "-shm"):  # the checkpointed file alone, cut in half
            Path(str(path) + side).unlink(missing_ok=True)
        with open(path, "r+b") as fh:
            fh.truncate(path.stat().st_size // 2)
    else:
        path.mkdir()
    with pytest.raises(StoreCorrupt, match=str(path)):
        Store(path, OLD)


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.fail(f"this test mounts a small tmpfs and needs root (CAP_SYS_ADMIN): {done.stderr.strip()}")


def test_a_full_disk_refuses_the_write_with_the_path_named_loses_nothing_and_recovers(tmp_path):
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "1m")
    store = Store(disk / "s.sqlite", OLD)
    try:
        store.put("round:1", "planned", {"salt": "ab" * 32})
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as fh:  # fill the disk to the last block
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        with pytest.raises(StoreUnavailable, match=str(disk / "s.sqlite")) as raised:
            for k in range(2, 400):  # the WAL has some slack; it runs out
                store.put(f"round:{k}", "planned", {"salt": "cd" * 32, "output": "y" * 2000})
        assert is_transient(raised.value)  # the daemon waits it out like an RPC fault
        filler.unlink()
        store.put("round:9999", "planned", {"salt": "ef" * 32})
        assert store.get("round:1").data == {"salt": "ab" * 32}
        assert store.get("round:9999").data == {"salt": "ef" * 32}
    finally:
        store.close()
        subprocess.run(["umount", str(disk)], check=False)
        shutil.rmtree(disk, ignore_errors=True)
