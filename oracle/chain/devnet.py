"""A devnet: a local Anvil with PoQ deployed, the nodes registered and their keystores written.

``up`` starts Anvil on loopback with interval *and* automatic mining
(``--block-time 1 --mixed-mining``): a transaction is mined at once, so honest
rounds move as fast as the nodes act, and a block still comes every second, so
a stage's deadline (in blocks) passes even when nobody sends anything. It
deploys PoQ with ``oracle.protocol.params.Params``, registers and stakes the configured
inference and evaluator nodes (Anvil's development accounts), encrypts their
keys into keystores, and writes the deployment file every other command reads.
``down`` stops the Anvil whose pid that file records.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

DEFAULT_STATE_DIR = Path(".poq")

# Anvil development account indices: 0 owns the contract (and receives slashes),
# 1 is the requester, nodes take 2, 3, ...
OWNER_INDEX, REQUESTER_INDEX, FIRST_NODE_INDEX = 0, 1, 2


def up(state_dir: Path = DEFAULT_STATE_DIR, inference: int = 2, evaluators: int = 3, port: int | None = None,
       block_time: float = 1.0, window: int | None = None, commit_window: int | None = None, log=print):
    """Start a devnet and return its ``Deployment`` (written to ``state_dir/deployment.json``).

    ``window`` sets every stage window (blocks); ``commit_window`` the output commit window alone,
    the one that must cover a model's run on a slow CPU.
    """
    from oracle.chain.anvil import Anvil
    from oracle.chain.artifacts import poq_artifact
    from oracle.chain.client import PoQClient, dev_account
    from oracle.chain.deployment import Deployment, NodeAccount, abi_sha256
    from oracle.chain.keys import DEVNET_SCRYPT_N, write_keystore, write_password_file
    from oracle.protocol.params import Params, Role

    state_dir = Path(state_dir).resolve()
    path = state_dir / "deployment.json"
    if path.exists():
        old = Deployment.load(path)
        if old.anvil_pid and _is_anvil(old.anvil_pid):
            raise RuntimeError(f"a devnet is already up (Anvil pid {old.anvil_pid}, {old.rpc_url}): "
                               f"run `poq devnet down --deployment {path}` first")
    params = Params()
    if window:
        params = params.with_(commit_window=window, reveal_window=window, reference_window=window,
                              score_commit_window=window, score_reveal_window=window)
    if commit_window:
        params = params.with_(commit_window=commit_window)
    state_dir.mkdir(parents=True, exist_ok=True)
    # automine answers each transaction at once; the timer's blocks move stage deadlines while nobody sends
    anvil = Anvil(port=port, block_time=block_time, mixed_mining=True, log_file=state_dir / "anvil.log")
    anvil.start()
    try:
        client = PoQClient.deploy(PoQClient.web3(anvil.url), dev_account(OWNER_INDEX), params)
        # The constructor's ParamsUpdated event marks the deploy block: followers start there.
        deploy_block = client.events(0, names=["ParamsUpdated"])[0]["block"]
        log(f"PoQ deployed at {client.address} on {anvil.url} (chain id {client.chain_id}, block {deploy_block})")
        password_file = write_password_file(state_dir / "keys" / "password")
        password = password_file.read_text().splitlines()[0]

        def configured(name: str, role: str, index: int) -> NodeAccount:
            acct = dev_account(index)
            keystore = write_keystore(acct, state_dir / "keys" / f"{name}.json", password, DEVNET_SCRYPT_N)
            return NodeAccount(name, role, acct.address, str(keystore.relative_to(state_dir)))

        accounts = [configured("owner", "owner", OWNER_INDEX), configured("requester", "requester", REQUESTER_INDEX)]
        index = FIRST_NODE_INDEX
        for role, count in ((Role.INFERENCE, inference), (Role.EVALUATOR, evaluators)):
            for n in range(1, count + 1):
                node = configured(f"{role.name.lower()}-{n}", role.name.lower(), index)
                client.register(dev_account(index), role, params.min_stake)
                accounts.append(node)
                index += 1
                log(f"registered {node.name} {node.address} (stake {params.min_stake / 1e18:g} ETH)")
        assert anvil.proc is not None  # start() launched the process (or raised)
        deployment = Deployment(
            chain_id=client.chain_id, address=client.address, deploy_block=deploy_block,
            deploy_block_hash=client.block_hash(deploy_block), rpc_url=anvil.url,
            abi_sha256=abi_sha256(poq_artifact().abi), params=params.to_dict(), accounts=accounts,
            password_file=str(password_file.relative_to(state_dir)), anvil_pid=anvil.proc.pid,
            anvil_log="anvil.log", path=path)
        deployment.save()
    except BaseException:
        anvil.stop()
        raise
    log(f"deployment written to {path}; stop it with `poq devnet down --deployment {path}`")
    return deployment


def down(deployment_path: Path, log=print) -> bool:
    """Stop the devnet's Anvil (SIGTERM, then SIGKILL); False if it was not running."""
    from oracle.chain.deployment import Deployment

    deployment = Deployment.load(deployment_path)
    pid = deployment.anvil_pid
    if not pid or not _is_anvil(pid):
        log(f"no Anvil running for {deployment_path} (pid {pid})")
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _is_anvil(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _is_anvil(pid):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)
    deployment.anvil_pid = None
    deployment.save()
    log(f"stopped Anvil (pid {pid}) at {deployment.rpc_url}")
    return True


def _is_anvil(pid: int) -> bool:
    """True if ``pid`` is a live Anvil process (not a zombie, not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return cmdline.endswith(b"anvil") and state != "Z"


def _reap(pid: int) -> None:
    """Collect the exit status if this process started Anvil (poq run), so no zombie is left."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
