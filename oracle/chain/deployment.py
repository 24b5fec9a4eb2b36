"""The deployment file: where PoQ lives, and who its devnet nodes are.

``poq devnet up`` (and ``ape run deploy``) write it; every other command reads
it, so the chain id, contract address, deploy block and RPC URL are given
once. Connecting checks them against the chain: a wrong chain id, an address
without PoQ's code or an unreachable RPC fails with the value named.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from oracle.chain.artifacts import poq_artifact
from oracle.chain.client import ChainError, PoQClient
from oracle.errors import UsageError
from oracle.protocol.params import Params

DEFAULT_PATH = Path(".poq/deployment.json")
ABI_SOURCE = "contracts/PoQ.sol"


@dataclass(frozen=True)
class NodeAccount:
    """A configured account: its name, role and address, and where its key is kept (never the key)."""

    name: str
    role: str  # "inference" | "evaluator" | "requester" | "owner"
    address: str
    keystore: str | None = None  # path, relative to the deployment file's folder


@dataclass
class Deployment:
    """One deployed PoQ contract and the accounts configured for it."""

    chain_id: int
    address: str
    deploy_block: int
    rpc_url: str
    # Hash of the deploy block: a devnet deployed again puts PoQ at the same address on the same chain id,
    # and only this tells the two apart (daemon stores are bound to it; connecting checks it).
    deploy_block_hash: str | None = None
    abi_source: str = ABI_SOURCE
    abi_sha256: str = ""
    params: dict = field(default_factory=dict)
    accounts: list[NodeAccount] = field(default_factory=list)
    password_file: str | None = None  # for the keystores above, relative to the file's folder
    anvil_pid: int | None = None
    anvil_log: str | None = None
    path: Path = DEFAULT_PATH  # where it was read from or will be written to; not serialised

    @property
    def folder(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path stored relative to the deployment file, made absolute."""
        p = Path(relative)
        return p if p.is_absolute() else (self.folder / p).resolve()

    def account(self, name: str) -> NodeAccount:
        for a in self.accounts:
            if a.name == name:
                return a
        names = ", ".join(a.name for a in self.accounts) or "none"
        raise LookupError(f"no account named {name!r} in {self.path} (configured: {names})")

    def accounts_by_role(self, role: str) -> list[NodeAccount]:
        return [a for a in self.accounts if a.role == role]

    def names(self) -> dict[str, str]:
        """Checksummed address -> configured name, for tables and logs."""
        return {a.address: a.name for a in self.accounts}

    def protocol_params(self) -> Params:
        """The ``Params`` the contract was deployed with (what settlement is checked against)."""
        return Params.from_dict(self.params)

    def save(self, path: Path | None = None) -> Path:
        """Write atomically (temp file, fsync, rename) so a reader never sees half a file."""
        self.path = Path(path or self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data.pop("path")
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        return self.path

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH) -> Deployment:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no deployment file at {path}: run `poq devnet up` (or `ape run deploy`) "
                                    "first, or pass --deployment PATH")
        fix = "rewrite it with `poq devnet up`"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path} is not a PoQ deployment file ({exc}); {fix}") from exc
        except OSError as exc:
            raise UsageError(f"deployment file {path} cannot be read ({exc.strerror or exc}); pass --deployment "
                             "PATH") from exc
        _check_fields(data, path, fix)
        try:
            data["accounts"] = [NodeAccount(**a) for a in data.get("accounts", [])]
            return cls(**data, path=path)
        except (TypeError, KeyError) as exc:
            raise UsageError(f"{path} is not a PoQ deployment file ({exc}); {fix}") from exc

    def connect(self, rpc_url: str | None = None, timeout: float = 30.0) -> PoQClient:
        """A client for this deployment, checked: chain id, PoQ's code at the address, the ABI's hash."""
        artifact = poq_artifact()
        current = abi_sha256(artifact.abi)
        if self.abi_sha256 and self.abi_sha256 != current:
            raise ValueError(f"{self.path} was deployed from an ABI with sha256 {self.abi_sha256}, but "
                             f"{self.abi_source} now compiles to {current}: redeploy with `poq devnet up`")
        client = PoQClient.connect(rpc_url or self.rpc_url, self.address, expected_chain_id=self.chain_id,
                                   timeout=timeout)
        if self.deploy_block_hash:
            actual = client.block_hash(self.deploy_block)
            if actual != self.deploy_block_hash:
                raise ChainError(f"{self.path} was written for the deployment in block {self.deploy_block} with "
                                 f"hash {self.deploy_block_hash}, but that block on {rpc_url or self.rpc_url} has "
                                 f"hash {actual}: the chain was restarted or redeployed since; rewrite the file "
                                 "with `poq devnet up` (or point --rpc at the right chain)")
        return client


# field -> (JSON types it may have, what to write instead); optional fields may also be null.
_REQUIRED = {"chain_id": (int, "a whole number, e.g. 31337"), "address": (str, "a 0x address in quotes"),
             "deploy_block": (int, "a block number, e.g. 1"), "rpc_url": (str, 'a URL, e.g. "http://127.0.0.1:8545"')}
_OPTIONAL = {"abi_source": (str, "a path in quotes"), "abi_sha256": (str, "a hex digest in quotes"),
             "params": (dict, "an object"), "accounts": (list, "a list of accounts"),
             "password_file": (str, "a path in quotes"), "anvil_pid": (int, "a process id"),
             "anvil_log": (str, "a path in quotes"), "deploy_block_hash": (str, "a 0x block hash in quotes")}
_ACCOUNT: dict[str, type | tuple[type, ...]] = {"name": str, "role": str, "address": str,
                                                 "keystore": (str, type(None))}


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _check_fields(data: object, path: Path, fix: str) -> None:
    """The file's shape, field by field, so a hand-edited file fails with the field named (not a TypeError)."""
    if not isinstance(data, dict):
        raise UsageError(f"{path} holds {_kind(data)}, not a PoQ deployment (a JSON object with chain_id, "
                         f"address, deploy_block, rpc_url...); {fix}")
    for name, (kind, want) in {**_REQUIRED, **_OPTIONAL}.items():
        if name not in data:
            if name in _REQUIRED:
                raise UsageError(f"{path}: field {name!r} is missing; {fix}")
            continue
        value = data[name]
        if value is None and name in _OPTIONAL:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise UsageError(f"{path}: field {name!r} is {_kind(value)} ({json.dumps(value)[:40]}), not "
                             f"{'a whole number' if kind is int else _kind(kind())}: write {want}")
    if data["chain_id"] <= 0 or data["deploy_block"] < 0:
        raise UsageError(f"{path}: chain_id {data['chain_id']} / deploy_block {data['deploy_block']}: the chain id "
                         f"must be positive and the block >= 0; {fix}")
    for k, account in enumerate(data.get("accounts") or []):
        if not isinstance(account, dict):
            raise UsageError(f"{path}: accounts[{k}] is {_kind(account)}, not an object with name, role, "
                             f"address; {fix}")
        for key, allowed in _ACCOUNT.items():
            value = account.get(key)
            if key != "keystore" and key not in account:
                raise UsageError(f"{path}: accounts[{k}] has no {key!r}; {fix}")
            if not isinstance(value, allowed):
                raise UsageError(f"{path}: accounts[{k}].{key} is {_kind(value)}, not a string; {fix}")


def abi_sha256(abi: list) -> str:
    """Hash of the ABI's canonical JSON: tells a reader whether it still speaks the deployed contract."""
    return hashlib.sha256(json.dumps(abi, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
