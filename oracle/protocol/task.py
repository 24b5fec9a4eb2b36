"""The task as the protocol sees it: its fields, its hash, the ``data:`` URI of ``RoundOpened``, and
the revealed reference. The one codec of tasks on chain: requester, daemons, explorer and the scripted
rounds of the demo and the tests all go through it.

The requester puts the task *without* its references in the URI (inference
nodes must not see the answer), commits to the references, and reveals them as
a JSON list of strings once the outputs are fixed. The URI's payload is
``task_canonical(task)``, whose keccak256 is the round's
``taskHash`` (``task_digest``), so a node checks it read the task that was
committed to.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import unquote

from eth_utils import keccak

KINDS = ("qa", "summarization")
DIGEST_VERSION = "poq-task-v1"
DATA_PREFIX = "data:application/json,"
ONCHAIN_SOURCE = "onchain"  # a task read back from a round (the file it came from is not public)


@dataclass(frozen=True)
class Task:
    id: str
    kind: str  # "qa" | "summarization"
    source: str  # "builtin" | "squad" | "cnn_dailymail" | the file name
    context: str  # paragraph (qa) or article (summarization)
    question: str | None  # qa only
    references: tuple[str, ...]  # gold answers (qa) / reference summary (summarization)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task {self.id!r}: unknown kind {self.kind!r}; expected one of {KINDS}")
        if (self.kind == "qa") != (self.question is not None):
            raise ValueError(f"task {self.id!r}: a question is required for qa tasks and only for them")



def task_canonical(task: Task) -> bytes:
    """The bytes a task hash commits to: kind, id, context and question, as sorted compact JSON.

    The references are left out on purpose: the hash is public from the round's opening,
    and a short QA answer is a span of the context, so hashing it would let anyone find it
    by trying spans. The reference is bound separately by ``reference_commitment`` (salted).
    The file name (``source``) is left out so the same task hashes the same from any copy.
    """
    body = {"v": DIGEST_VERSION, "kind": task.kind, "id": task.id, "context": task.context,
            "question": task.question}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def task_digest(task: Task) -> bytes:
    """keccak256 of ``task_canonical(task)``: the 32-byte ``taskHash`` a round opens with."""
    return keccak(task_canonical(task))


def task_uri(task: Task) -> str:
    """A ``data:`` URI carrying the task's public canonical JSON (no references, no file name)."""
    return DATA_PREFIX + task_canonical(task).decode("utf-8")


def parse_data_uri(uri: str) -> dict:
    """The JSON object in a ``data:`` URI (plain, percent-encoded or base64)."""
    if not uri.startswith("data:") or "," not in uri:
        raise ValueError(f"task URI {uri[:60]!r} is not a data: URI; this node reads tasks from data: URIs only")
    header, payload = uri[5:].split(",", 1)
    if header.endswith(";base64"):
        return json.loads(base64.b64decode(payload))
    try:
        return json.loads(payload)
    except json.JSONDecodeError:
        return json.loads(unquote(payload))


def task_from_uri(uri: str, expected_hash: bytes, references: tuple[str, ...] = ()) -> Task:
    """The task a round was opened with, checked against its ``taskHash``."""
    content = parse_data_uri(uri)
    try:
        task = Task(id=content["id"], kind=content["kind"], source=ONCHAIN_SOURCE, context=content["context"],
                    question=content.get("question"), references=tuple(references))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"task URI {uri[:60]!r} lacks field {exc}: not a PoQ task") from None
    if task_digest(task) != bytes(expected_hash):
        raise ValueError(f"task {task.id!r}: the URI's content does not hash to the round's taskHash "
                         f"0x{bytes(expected_hash).hex()}; refusing to work on it")
    return task


def encode_references(references: tuple[str, ...]) -> str:
    """The reference string the requester commits to and reveals: a JSON list of the gold answers."""
    return json.dumps(list(references), ensure_ascii=False, separators=(",", ":"))


def decode_references(revealed: str | None) -> tuple[str, ...]:
    """Gold answers from a revealed reference; a plain string is one answer."""
    if not revealed:
        return ()
    try:
        value = json.loads(revealed)
    except json.JSONDecodeError:
        return (revealed,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return (revealed,)
