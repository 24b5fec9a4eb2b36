"""Tasks a round can ask for: extractive QA (SQuAD v1.1) and summarisation (CNN/DailyMail).

Every source becomes the same ``Task`` so the prompts, evaluators and daemons never
see a file format. Files are read strictly: a malformed line stops the load with a
``TaskFileError`` that names the file, the line and the field, because silently
skipping items would change which tasks a profile covers.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from oracle.errors import UsageError
from oracle.protocol.task import Task

SOURCES = ("builtin", "squad", "cnn_dailymail")
BUILTIN_FILE = Path(__file__).resolve().parents[1] / "data" / "builtin_tasks.json"


class TaskFileError(UsageError):
    """A task file that cannot be read, with where exactly it went wrong."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None,
                 field: str | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        where = self.path + (f":{line}" if line is not None else "")
        what = f"field {field!r}: " if field else ""
        super().__init__(f"{where}: {what}{problem}")


class TaskSourceUnavailable(RuntimeError):
    """A data set that only the Hugging Face hub could provide, asked for without a file."""


# --------------------------------------------------------------------------- built-in set


@cache
def _builtin() -> tuple[Task, ...]:
    data = json.loads(BUILTIN_FILE.read_text(encoding="utf-8"))
    qa = [Task(id=d["id"], kind="qa", source="builtin", context=d["context"], question=d["question"],
               references=tuple(d["answers"])) for d in data["qa"]]
    summaries = [Task(id=d["id"], kind="summarization", source="builtin", context=d["article"],
                      question=None, references=(d["summary"],)) for d in data["summarization"]]
    return tuple(qa + summaries)


def builtin_tasks() -> list[Task]:
    """The project's own small set (12 QA items, 6 articles): needs no file and no network."""
    return list(_builtin())


# --------------------------------------------------------------------------- field checks


def _text(record: dict, field: str, path: Path, line: int | None, where: str = "") -> str:
    value = record.get(field)
    if value is None:
        raise TaskFileError(path, f"missing{where}", line, field)
    if not isinstance(value, str) or not value.strip():
        raise TaskFileError(path, f"must be a non-empty string{where}, got {value!r:.60}", line, field)
    return value


def _answers(value: Any, path: Path, line: int | None, where: str = "") -> tuple[str, ...]:
    """Gold answers as texts: SQuAD lists of {"text": ...}, plain strings, or HF's {"text": [...]}."""
    if isinstance(value, dict) and isinstance(value.get("text"), list):
        value = value["text"]
    if not isinstance(value, list) or not value:
        raise TaskFileError(path, f"must be a non-empty list of answers{where}, got {value!r:.60}",
                            line, "answers")
    texts = [a.get("text") if isinstance(a, dict) else a for a in value]
    if not all(isinstance(t, str) and t.strip() for t in texts):
        raise TaskFileError(path, f"every answer must be a non-empty string{where}, got {value!r:.80}",
                            line, "answers")
    return tuple(t for t in texts if isinstance(t, str))  # every one is a str (checked above); narrows the type


def _squad_task(record: dict, source: str, path: Path, line: int | None, where: str = "") -> Task:
    return Task(id=_text(record, "id", path, line, where), kind="qa", source=source,
                context=_text(record, "context", path, line, where),
                question=_text(record, "question", path, line, where),
                references=_answers(record.get("answers"), path, line, where))


def _cnn_task(record: dict, source: str, path: Path, line: int | None) -> Task:
    return Task(id=_text(record, "id", path, line), kind="summarization", source=source,
                context=_text(record, "article", path, line), question=None,
                references=(_text(record, "highlights", path, line),))


# --------------------------------------------------------------------------- file readers


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise TaskFileError(path, f"not valid JSON ({exc.msg} at column {exc.colno})", lineno) from exc
            if not isinstance(record, dict):
                raise TaskFileError(path, f"expected a JSON object, got {type(record).__name__}", lineno)
            yield lineno, record


def _csv(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        start = reader.line_num + 1
        for record in reader:
            if None in record:  # more cells than the header names
                raise TaskFileError(path, "more cells than header columns", start)
            yield start, record  # a quoted article may span lines: report where the row starts
            start = reader.line_num + 1


def _squad_nested(doc: object, path: Path, source: str) -> Iterator[Task]:
    """The official ``dev-v1.1.json``: data[] -> paragraphs[] -> qas[]; errors name the JSON path."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise TaskFileError(path, "expected SQuAD's {\"data\": [articles...]} at the top level", None, "data")
    for a, article in enumerate(doc["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise TaskFileError(path, f"missing or not a list at data[{a}]", None, "paragraphs")
        for p, paragraph in enumerate(paragraphs):
            at = f" at data[{a}].paragraphs[{p}]"
            context = _text(paragraph, "context", path, None, at)
            qas = paragraph.get("qas")
            if not isinstance(qas, list):
                raise TaskFileError(path, f"missing or not a list{at}", None, "qas")
            for q, qa in enumerate(qas):
                yield _squad_task({**qa, "context": context}, source, path, None, f"{at}.qas[{q}]")


def _squad_document(path: Path) -> object | None:
    """The parsed document of an official (nested) SQuAD file, or None for JSON Lines.

    Decided by content, not suffix: exports named ``.json`` are often JSON Lines. A first line
    that is on its own a record without SQuAD's top-level "data" means JSON Lines. The official
    file is one line, so that line is parsed once and is the document.
    """
    with open(path, encoding="utf-8") as fh:
        first = next((raw for raw in fh if raw.strip()), "")
        more = any(raw.strip() for raw in fh)
    try:
        head = json.loads(first)
    except json.JSONDecodeError:
        pass  # a pretty-printed document (or garbage, reported by the whole-file parse)
    else:
        if not (isinstance(head, dict) and "data" in head):
            return None
        if not more:
            return head
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TaskFileError(path, f"not valid JSON ({exc.msg} at column {exc.colno})", exc.lineno) from exc


def _read_squad(path: Path) -> Iterator[Task]:
    doc = _squad_document(path)
    if doc is not None:
        return _squad_nested(doc, path, path.name)
    return (_squad_task(r, path.name, path, line) for line, r in _jsonl(path))


def _read_cnn(path: Path) -> Iterator[Task]:
    rows = _csv(path) if path.suffix.lower() == ".csv" else _jsonl(path)
    return (_cnn_task(r, path.name, path, line) for line, r in rows)


_READERS: dict[str, Callable[[Path], Iterator[Task]]] = {"squad": _read_squad, "cnn_dailymail": _read_cnn}

# Hugging Face `datasets` names, for users with a connection.
_HUB = {"squad": (("squad",), "validation"), "cnn_dailymail": (("cnn_dailymail", "3.0.0"), "test")}
_SAMPLES = {"squad": "squad_v1.1_dev_sample.jsonl or the official dev-v1.1.json",
            "cnn_dailymail": "cnn_dailymail_test_sample.jsonl, or a CSV with id,article,highlights"}


def _from_hub(source: str, limit: int | None) -> Iterator[Task]:
    hint = f"pass path= to a local file ({_SAMPLES[source]})"
    if os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        raise TaskSourceUnavailable(f"{source!r} without a file needs the Hugging Face hub, and this "
                                    f"process is offline (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE=1): {hint}")
    try:
        import datasets
    except ImportError as exc:
        raise TaskSourceUnavailable(f"{source!r} without a file needs the `datasets` package and a "
                                    f"connection to the Hugging Face hub; {hint}") from exc
    args, split = _HUB[source]
    split_spec = f"{split}[:{limit}]" if limit is not None else split
    try:
        rows = datasets.load_dataset(*args, split=split_spec)
    except Exception as exc:  # the hub raises many types (connection, offline, missing)
        raise TaskSourceUnavailable(f"could not load {source!r} from the Hugging Face hub ({exc}); "
                                    f"{hint}") from exc
    to_task = _squad_task if source == "squad" else _cnn_task
    return (to_task(dict(r), source, Path(f"hf:{'/'.join(args)}"), i + 1) for i, r in enumerate(rows))


def _unique(tasks: Iterable[Task], path: Path | str) -> Iterator[Task]:
    seen: set[str] = set()
    for n, task in enumerate(tasks, start=1):
        if task.id in seen:
            raise TaskFileError(path, f"duplicate id {task.id!r} (item {n}); ids key the profile records",
                                None, "id")
        seen.add(task.id)
        yield task


def load_tasks(source: str = "builtin", path: str | Path | None = None, limit: int | None = None) -> list[Task]:
    """The first ``limit`` tasks of a source, in file order.

    ``source``: "builtin"; "squad" (official nested ``dev-v1.1.json`` or flat JSONL with
    id, context, question, answers); "cnn_dailymail" (JSONL or CSV with id, article,
    highlights). Without ``path``, squad and cnn_dailymail come from the Hugging Face hub,
    which works online only. Tasks read from a file carry the file's name as ``source``.
    """
    if limit is not None and limit < 0:
        raise UsageError(f"limit must be >= 0 or None, got {limit}")
    if source == "builtin":
        if path is not None:
            raise UsageError("the builtin task set takes no path; pass source='squad' or 'cnn_dailymail' "
                             "to read a file")
        tasks: Iterable[Task] = builtin_tasks()
        origin: Path | str = "builtin"
    elif source in _READERS:
        if path is None:
            tasks, origin = _from_hub(source, limit), f"hf:{source}"
        else:
            origin = Path(path)
            if not origin.is_file():
                raise TaskFileError(origin, f"no such file (a {source} file: {_SAMPLES[source]})")
            tasks = _READERS[source](origin)
    else:
        raise UsageError(f"unknown task source {source!r}; expected one of {SOURCES}")
    out: list[Task] = []
    for task in _unique(tasks, origin):
        if limit is not None and len(out) >= limit:
            break
        out.append(task)
    return out
