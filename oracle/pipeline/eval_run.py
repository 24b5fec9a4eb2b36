"""The eval run: tasks x models x evaluators -> ``records.jsonl`` (one ``ProfileRecord`` per task x model),
and every evaluator's score of the probes -> ``probes.jsonl`` (one ``ProbeRecord`` per task x probe).

Work goes in chunks of tasks. In a chunk, each model is loaded alone, answers
every pending task and is closed; then each evaluator is loaded alone and scores,
task by task, all the chunk's outputs for that task as one batch (the outputs of
one round), then the task's probes as a second batch. One component at a time
keeps each measured peak memory that component's (plus the process baseline),
not the sum of everything loaded. A probe batch comes after its task's model
batch, so a llama.cpp evaluator's cached source prefix is already paid for: its
probe cost is the marginal cost of one more answer in a round, which is what a
lazy node adds.

Both files are rewritten atomically after each chunk, so an interrupted run
leaves whole records only; rerunning with the same ``out`` fills only what is
missing: (task, model) pairs not yet answered, scores of evaluators added since
(an evaluator may be added to a recorded run, never dropped), and probes not yet
scored at this ``PROBES_VERSION``.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from oracle.errors import UsageError
from oracle.paths import ROOT
from oracle.pipeline.probes import PROBES_VERSION, probe_answers, word_count
from oracle.pipeline.records import (
    EvaluatorCost,
    ProbeRecord,
    ProfileRecord,
    read_probes,
    read_records,
    write_lines,
)
from oracle.pipeline.tasks import load_tasks
from oracle.protocol.task import Task

if TYPE_CHECKING:
    from oracle.pipeline.backends.base import Generation

RECORDS = "records.jsonl"
PROBES = "probes.jsonl"
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


def _check_resume(config: EvalConfig) -> None:
    """A resumed run may add evaluators (its records are then scored with them) but not drop one, or its
    tables would mix records that some evaluator scored with records it never saw."""
    run_file = config.out / RUN_FILE
    if run_file.exists():
        previous = json.loads(run_file.read_text()).get("evaluators") or []
        dropped = [e for e in previous if e not in config.evaluators]
        if dropped:
            raise UsageError(f"{config.out} holds records scored by {previous}, and {config.evaluators} drops "
                             f"{dropped}: rerun with those --evaluators (more may be added) or choose a new --out")
    config.out.mkdir(parents=True, exist_ok=True)
    run_file.write_text(config.to_json() + "\n")


# A scored item of one task: ("model", model name) or ("probe", probe name).
Item = tuple[str, str]


class _State:
    """What the out folder holds, keyed for lookups: records by (task, model), probes by (task, probe)."""

    def __init__(self, out: Path):
        self.out = out
        self.records: dict[tuple[str, str], ProfileRecord] = {}
        self.probes: dict[tuple[str, str], ProbeRecord] = {}
        if (out / RECORDS).exists():
            self.records = {(r.task_id, r.model): r for r in read_records(out / RECORDS)}
        if (out / PROBES).exists():
            self.probes = {(p.task_id, p.probe): p for p in read_probes(out / PROBES)
                           if p.version == PROBES_VERSION}

    def missing(self, task: Task, config: EvalConfig) -> bool:
        """Does ``task`` lack an answer, a score or a probe?"""
        from oracle.pipeline.quality import needs_reference

        wanted = [e for e in config.evaluators if task.references or not needs_reference(e)]
        for model in config.models:
            record = self.records.get((task.id, model))
            if record is None or any(e not in record.scores for e in wanted):
                return True
        for name, _ in probe_answers(task):
            probe = self.probes.get((task.id, name))
            if probe is None or any(e not in probe.scores for e in wanted):
                return True
        return False

    def save(self) -> None:
        write_lines(self.out / RECORDS, self.records.values())
        write_lines(self.out / PROBES, self.probes.values())


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


def _score(evaluator_name: str, tasks: Sequence[Task], batches: dict[str, list[list[tuple[Item, str]]]],
           config: EvalConfig, progress: ProgressReporter) -> dict[tuple[str, Item], tuple[float, EvaluatorCost]]:
    """(task id, item) -> (score, amortised cost), for one evaluator (loaded for this call only).

    ``batches[task id]`` holds that task's batches in order (its models' outputs, then its probes),
    each a list of (item, text); each batch is scored as one call and its cost shared among its items.
    """
    from oracle.pipeline.quality import load_evaluator, scored

    progress.phase(f"score {evaluator_name}", len(tasks))
    evaluator = load_evaluator(evaluator_name, batch_size=config.batch_size, threads=config.threads)
    try:
        evaluator.score(WARM_UP, list(WARM_UP.references))  # warm-up, as for the models
        results = {}
        for task in tasks:
            if evaluator.needs_reference and not task.references:
                progress.advance()
                continue
            for batch in batches[task.id]:
                if not batch:
                    continue
                result = scored(evaluator, task, [text for _, text in batch])
                cost = result.per_item_cost()
                for (item, _), s in zip(batch, result.scores, strict=True):
                    results[(task.id, item)] = (s, cost)
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
    state = _State(config.out)
    total = len(tasks) * len(config.models)
    progress.start(total, sum((t.id, m) in state.records for t in tasks for m in config.models))
    pending_tasks = [t for t in tasks if state.missing(t, config)]
    for start in range(0, len(pending_tasks), config.chunk_size):
        chunk = pending_tasks[start:start + config.chunk_size]
        new = run_chunk(chunk, config, state, progress)
        state.save()
        progress.chunk_done(new)
    return config.out / RECORDS


def run_chunk(chunk: Sequence[Task], config: EvalConfig, state: _State,
              progress: ProgressReporter) -> list[ProfileRecord]:
    """Fill the chunk's missing answers, scores and probes into ``state``; returns the new records."""
    generations: dict[tuple[str, str], tuple[str, Generation]] = {}
    for model in config.models:
        todo = [t for t in chunk if (t.id, model) not in state.records]
        if todo:
            for task_id, generated in _generate(model, todo, config, progress).items():
                generations[(task_id, model)] = generated
    new = [_new_record(task, model, *generations[(task.id, model)])
           for task in chunk for model in config.models if (task.id, model) in generations]
    state.records.update(((r.task_id, r.model), r) for r in new)
    probe_texts = {t.id: probe_answers(t) for t in chunk}
    for t in chunk:
        for name, text in probe_texts[t.id]:
            if (t.id, name) not in state.probes:
                state.probes[(t.id, name)] = ProbeRecord(task_id=t.id, kind=t.kind, source=t.source, probe=name,
                                                         version=PROBES_VERSION, output_tokens=word_count(text),
                                                         scores={})
    for name in config.evaluators:
        batches = {t.id: [[(("model", m), state.records[(t.id, m)].output) for m in config.models
                           if name not in state.records[(t.id, m)].scores],
                          [(("probe", p), text) for p, text in probe_texts[t.id]
                           if name not in state.probes[(t.id, p)].scores]]
                   for t in chunk}
        todo_tasks = [t for t in chunk if any(batches[t.id])]
        if not todo_tasks:
            continue
        for (task_id, (kind, key)), (score, cost) in _score(name, todo_tasks, batches, config, progress).items():
            table: dict = state.records if kind == "model" else state.probes
            old = table[(task_id, key)]
            table[(task_id, key)] = replace(old, scores={**old.scores, name: score},
                                            evaluator_costs={**old.evaluator_costs, name: cost})
    return [state.records[(r.task_id, r.model)] for r in new]


def _new_record(task: Task, model: str, template: str, gen: Generation) -> ProfileRecord:
    return ProfileRecord(task_id=task.id, kind=task.kind, source=task.source, template=template, model=model,
                         output=gen.text, latency_ms=gen.latency_ms, prompt_tokens=gen.prompt_tokens,
                         output_tokens=gen.output_tokens, peak_memory_mb=gen.peak_memory_mb, scores={},
                         evaluator_costs={})


def load_records(out: Path) -> list[ProfileRecord]:
    return list(read_records(out / RECORDS))

