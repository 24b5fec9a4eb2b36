"""The eval run: tasks x models x evaluators -> ``records.jsonl`` (one ``ProfileRecord`` per task x model).

Work goes in chunks of tasks. In a chunk, each model is loaded alone, answers
every pending task and is closed; then each evaluator is loaded alone and scores,
task by task, all the chunk's outputs for that task as one batch (the outputs of
one round). One component at a time keeps each measured peak memory that
component's (plus the process baseline), not the sum of everything loaded.

A chunk's records are appended (and fsynced) only when the chunk is complete, so
an interrupted run leaves whole records only; rerunning with the same ``out``
skips the (task, model) pairs already recorded and resumes where it stopped.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from oracle.errors import UsageError
from oracle.paths import ROOT
from oracle.pipeline.records import EvaluatorCost, ProfileRecord, append_records, read_records
from oracle.pipeline.tasks import load_tasks
from oracle.protocol.task import Task

if TYPE_CHECKING:
    from oracle.pipeline.backends.base import Generation

RECORDS = "records.jsonl"
RUN_FILE = "run.json"
# Output budget per task kind: an extractive answer is short, a summary is three sentences.
MAX_NEW_TOKENS = {"qa": 32, "summarization": 96}
DEFAULT_MODELS = ("smollm2-135m", "qwen2.5-0.5b")
# A tiny task run once through each model and evaluator before anything is measured.
WARM_UP = Task(id="warm-up", kind="qa", source="warm-up", context="Paris is the capital of France.",
               question="What is the capital of France?", references=("Paris",))


@dataclass
class EvalConfig:
    """What one ``poq eval`` run covers; written to ``run.json`` in the output folder."""

    out: Path
    sources: list[str] = field(default_factory=lambda: ["builtin"])
    data: list[Path | None] = field(default_factory=lambda: [None])  # one path (or None) per source
    limit: int | None = None
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    evaluators: list[str] = field(default_factory=list)
    max_new_tokens: int | None = None  # None: MAX_NEW_TOKENS by task kind
    chunk_size: int = 8
    batch_size: int = 32
    # CPU threads for llama.cpp and ONNX (None: every core). On a shared, oversubscribed
    # machine 1 thread is several times faster than 2: llama.cpp's threads wait on each other.
    threads: int | None = None
    # (k, n): only the k-th (1-based) of n contiguous, near-equal slices of the tasks, so that one
    # profile can be recorded by n processes (one per core) or machines; see ``shard_slice``.
    shard: tuple[int, int] | None = None

    def tokens_for(self, task: Task) -> int:
        return self.max_new_tokens or MAX_NEW_TOKENS[task.kind]

    def to_json(self) -> str:
        """The run as JSON, every path relative to the project, so a profile never names the machine it
        was recorded on (the shared data beside a checkout becomes ``../shared/data/...``)."""
        d = asdict(self)
        d["out"] = _project_relative(self.out)
        d["data"] = [_project_relative(p) if p else None for p in self.data]
        return json.dumps(d, indent=2)


def _project_relative(path: Path) -> str:
    return os.path.relpath(Path(path).resolve(), ROOT)


class ProgressReporter(Protocol):
    """Whatever the run reports to: ``EvalProgress`` or the command's bars (which need not subclass it)."""

    def start(self, total_pairs: int, done_pairs: int) -> None: ...
    def phase(self, label: str, total: int) -> None: ...
    def advance(self) -> None: ...
    def chunk_done(self, records: list[ProfileRecord]) -> None: ...


class EvalProgress:
    """What the run reports as it goes; the command prints bars, tests may interrupt."""

    def start(self, total_pairs: int, done_pairs: int) -> None: ...
    def phase(self, label: str, total: int) -> None: ...
    def advance(self) -> None: ...
    def chunk_done(self, records: list[ProfileRecord]) -> None: ...


def load_run_tasks(config: EvalConfig) -> list[Task]:
    """Every source's tasks in order (``limit`` applies per source)."""
    if len(config.data) != len(config.sources):
        raise UsageError(f"{len(config.data)} data paths for {len(config.sources)} task sources: "
                         "give one --data per --tasks source (or none)")
    tasks: list[Task] = []
    for source, path in zip(config.sources, config.data, strict=True):
        tasks.extend(load_tasks(source, path, config.limit))
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise UsageError("two task sources share task ids; run them into separate --out folders")
    if config.shard:
        tasks = tasks[shard_slice(len(tasks), *config.shard)]
    return tasks


def shard_slice(count: int, k: int, n: int) -> slice:
    """The k-th (1-based) of n contiguous slices of ``count`` tasks; together they cover each task once."""
    if not 1 <= k <= n:
        raise UsageError(f"shard {k}/{n} does not exist: K/N needs 1 <= K <= N, e.g. 1/2 and 2/2")
    return slice((k - 1) * count // n, k * count // n)


def done_pairs(out: Path) -> set[tuple[str, str]]:
    path = out / RECORDS
    if not path.exists():
        return set()
    return {(r.task_id, r.model) for r in read_records(path)}


def _check_resume(config: EvalConfig) -> None:
    """A resumed run must score with the same evaluators, or its records would not be comparable."""
    run_file = config.out / RUN_FILE
    if run_file.exists():
        previous = json.loads(run_file.read_text())
        if previous.get("evaluators") != config.evaluators:
            raise UsageError(f"{config.out} holds records scored by {previous.get('evaluators')}, not "
                             f"{config.evaluators}: rerun with those --evaluators or choose a new --out")
    config.out.mkdir(parents=True, exist_ok=True)
    run_file.write_text(config.to_json() + "\n")


def _generate(model_name: str, tasks: Sequence[Task], config: EvalConfig,
              progress: ProgressReporter) -> dict[str, tuple[str, Generation]]:
    """task id -> (prompt template id, Generation), for one model (loaded for this call only)."""
    from oracle.pipeline.models import load_model
    from oracle.pipeline.prompts import render

    progress.phase(f"generate {model_name}", len(tasks))
    backend = load_model(model_name, **({"n_threads": config.threads} if config.threads else {}))
    try:
        backend.generate(render(WARM_UP), 1)  # page faults and allocations are not a steady-state cost
        results = {}
        for task in tasks:
            prompt = render(task)
            results[task.id] = (prompt.template_id, backend.generate(prompt, config.tokens_for(task)))
            progress.advance()
        return results
    finally:
        backend.close()
        gc.collect()


def _score(evaluator_name: str, tasks: Sequence[Task], outputs: dict[str, list[tuple[str, str]]],
           config: EvalConfig, progress: ProgressReporter) -> dict[tuple[str, str], tuple[float, EvaluatorCost]]:
    """(task id, model) -> (score, amortised cost), for one evaluator (loaded for this call only)."""
    from oracle.pipeline.quality import load_evaluator, scored

    progress.phase(f"score {evaluator_name}", len(tasks))
    evaluator = load_evaluator(evaluator_name, batch_size=config.batch_size, threads=config.threads)
    try:
        evaluator.score(WARM_UP, list(WARM_UP.references))  # warm-up, as for the models
        results = {}
        for task in tasks:
            pairs = outputs[task.id]
            if evaluator.needs_reference and not task.references:
                progress.advance()
                continue
            batch = scored(evaluator, task, [text for _, text in pairs])
            cost = batch.per_item_cost()
            for (model, _), s in zip(pairs, batch.scores, strict=True):
                results[(task.id, model)] = (s, cost)
            progress.advance()
        return results
    finally:
        evaluator.close()
        del evaluator
        gc.collect()


def run_eval(config: EvalConfig, progress: ProgressReporter | None = None) -> Path:
    """Run (or resume) the eval into ``config.out``; returns the records file."""
    from oracle.pipeline.quality import check_name

    progress = progress or EvalProgress()
    for name in config.evaluators:
        check_name(name)
    tasks = load_run_tasks(config)
    _check_resume(config)
    done = done_pairs(config.out)
    pending = [(t, m) for t in tasks for m in config.models if (t.id, m) not in done]
    progress.start(len(tasks) * len(config.models), len(tasks) * len(config.models) - len(pending))
    pending_tasks = [t for t in tasks if any((t.id, m) not in done for m in config.models)]
    for start in range(0, len(pending_tasks), config.chunk_size):
        chunk = pending_tasks[start:start + config.chunk_size]
        records = run_chunk(chunk, config, done, progress)
        append_records(config.out / RECORDS, records)
        done.update((r.task_id, r.model) for r in records)
        progress.chunk_done(records)
    return config.out / RECORDS


def run_chunk(chunk: Sequence[Task], config: EvalConfig, done: set[tuple[str, str]],
              progress: ProgressReporter) -> list[ProfileRecord]:
    """Generate the chunk's missing outputs, score them with every evaluator, build the records."""
    generations: dict[tuple[str, str], tuple[str, Generation]] = {}
    for model in config.models:
        todo = [t for t in chunk if (t.id, model) not in done]
        if todo:
            for task_id, generated in _generate(model, todo, config, progress).items():
                generations[(task_id, model)] = generated
    outputs: dict[str, list[tuple[str, str]]] = {t.id: [] for t in chunk}
    for (task_id, model), (_, gen) in generations.items():
        outputs[task_id].append((model, gen.text))
    scored_by: dict[str, dict] = {}
    for name in config.evaluators:
        scored_by[name] = _score(name, [t for t in chunk if outputs[t.id]], outputs, config, progress)
    records = []
    for task in chunk:
        for model in config.models:
            if (task.id, model) not in generations:
                continue
            template, gen = generations[(task.id, model)]
            scores = {n: r[(task.id, model)][0] for n, r in scored_by.items() if (task.id, model) in r}
            costs = {n: r[(task.id, model)][1] for n, r in scored_by.items() if (task.id, model) in r}
            records.append(ProfileRecord(
                task_id=task.id, kind=task.kind, source=task.source, template=template, model=model,
                output=gen.text, latency_ms=gen.latency_ms, prompt_tokens=gen.prompt_tokens,
                output_tokens=gen.output_tokens, peak_memory_mb=gen.peak_memory_mb,
                scores=scores, evaluator_costs=costs))
    return records


def load_records(out: Path) -> list[ProfileRecord]:
    return list(read_records(out / RECORDS))

