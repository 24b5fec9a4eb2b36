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

from oracle.artifacts import poq_artifact
from oracle.chain import PoQClient
from oracle.params import Params

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
    def load(cls, path: Path | str = DEFAULT_PATH) -> "Deployment":
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no deployment file at {path}: run `poq devnet up` (or `ape run deploy`) "
                                    "first, or pass --deployment PATH")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["accounts"] = [NodeAccount(**a) for a in data.get("accounts", [])]
            return cls(**data, path=path)
        except (json.JSONDecodeError, TypeError, KeyError) as exc:
            raise ValueError(f"{path} is not a PoQ deployment file ({exc}); rewrite it with `poq devnet up`") from exc

    def connect(self, rpc_url: str | None = None, timeout: float = 30.0) -> PoQClient:
        """A client for this deployment, checked: chain id, PoQ's code at the address, the ABI's hash."""
        artifact = poq_artifact()
        current = abi_sha256(artifact.abi)
        if self.abi_sha256 and self.abi_sha256 != current:
            raise ValueError(f"{self.path} was deployed from an ABI with sha256 {self.abi_sha256}, but "
                             f"{self.abi_source} now compiles to {current}: redeploy with `poq devnet up`")
        return PoQClient.connect(rpc_url or self.rpc_url, self.address, expected_chain_id=self.chain_id,
                                 timeout=timeout)


def abi_sha256(abi: list) -> str:
    """Hash of the ABI's canonical JSON: tells a reader whether it still speaks the deployed contract."""
    return hashlib.sha256(json.dumps(abi, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
