"""What a task looks like on chain: the ``data:`` URI of ``RoundOpened`` and the revealed reference.

The requester puts the task *without* its references in the URI (inference
nodes must not see the answer), commits to the references, and reveals them as
a JSON list of strings once the outputs are fixed. The URI's payload is
``oracle.pipeline.tasks.task_canonical(task)``, whose keccak256 is the round's
``taskHash`` (``task_digest``), so a node checks it read the task that was
committed to.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import unquote

from oracle.pipeline.tasks import Task, task_canonical, task_digest

DATA_PREFIX = "data:application/json,"
ONCHAIN_SOURCE = "onchain"  # a task read back from a round (the file it came from is not public)


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
