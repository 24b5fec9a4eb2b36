"""A recorded profile turned into per-task draws for the Monte Carlo engine.

A profile holds one ``ProfileRecord`` per (task, model). The pool keeps the
tasks that every model answered, so a round can take each drawn node's real
output, scores and costs *for that task*, and the draws follow the joint
distribution the profile recorded (a hard task is hard for every model and
every evaluator at once).

Ground-truth metrics (``token_f1`` on QA, ``rouge_l`` on summaries) are
merged into one reference-based evaluator, ``ground-truth``: a committee member
that scores outputs against the reference the requester reveals, as the
protocol allows. It takes part in committees like any learned evaluator when
the profile records its cost; its score is also the ground-truth quality that
the report puts on the comparison plot's quality axis.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from oracle.params import WAD, CostModel, to_wad
from oracle.profile import EvaluatorCost, ProfileRecord, read_records
from oracle.profiling import cost_reference
from oracle.reward import Cost

DEFAULT_PROFILE = Path(__file__).resolve().parent.parent / "profiles" / "default" / "records.jsonl"

# The reference-based metric of each task kind, and the one evaluator they are merged into.
GROUND_TRUTH_METRICS = {"qa": "token_f1", "summarization": "rouge_l"}
GROUND_TRUTH = "ground-truth"

class ProfileError(ValueError):
    """The profile cannot be simulated; the message names the file, the value and the fix."""


@dataclass(frozen=True)
class Entry:
    """One model's recorded answer to one task, in the units the contract takes."""

    model: str
    output: str
    cost: Cost  # attested inference cost (ms, output tokens, MB), integers
    scores: dict[str, int]  # evaluator -> WAD score of this output
    evaluator_costs: dict[str, EvaluatorCost]  # evaluator -> cost of scoring this one output


@dataclass(frozen=True)
class TaskDraw:
    """A task and every model's entry for it."""

    task_id: str
    kind: str
    entries: dict[str, Entry]


@dataclass(frozen=True)
class ProfilePool:
    """The tasks, models and evaluators a simulation draws from, plus what loading left out."""

    path: Path
    tasks: tuple[TaskDraw, ...]
    models: tuple[str, ...]
    evaluators: tuple[str, ...]
    notes: tuple[str, ...]

    def suggested_cost_models(self, slots: int, inference: CostModel,
                              evaluator: CostModel) -> tuple[CostModel, CostModel]:
        """``inference`` and ``evaluator`` with references at the pool's p90 (``profiling.cost_reference``).

        Inference: p90 of each measure over all (task, model) entries. Evaluator: a round's
        attestation covers ``slots`` outputs, so latency and tokens are ``slots`` times the
        per-output p90, and memory the per-output p90. Weights are kept.
        """
        entries = [e for t in self.tasks for e in t.entries.values()]
        inf = replace(
            inference,
            ref_latency_ms=cost_reference([e.cost.latency_ms for e in entries]),
            ref_tokens=cost_reference([e.cost.tokens for e in entries]),
            ref_memory_mb=cost_reference([e.cost.memory_mb for e in entries]))
        items = [e.evaluator_costs[name] for e in entries for name in self.evaluators]
        ev = replace(
            evaluator,
            ref_latency_ms=slots * cost_reference([c.latency_ms for c in items]),
            ref_tokens=slots * cost_reference([c.tokens for c in items]),
            ref_memory_mb=cost_reference([c.peak_memory_mb for c in items]))
        return inf, ev

    def mean_score(self, model: str, evaluators: tuple[str, ...] | None = None) -> float:
        """The model's mean score over the pool's tasks and ``evaluators`` (all by default), in [0, 1]."""
        names = evaluators or self.evaluators
        values = [t.entries[model].scores[e] for t in self.tasks for e in names]
        return sum(values) / len(values) / WAD


def _merged_scores(record: ProfileRecord) -> tuple[dict[str, float], dict[str, EvaluatorCost]]:
    """The record's evaluator scores and costs with its kind's ground-truth metric renamed ``ground-truth``."""
    metric = GROUND_TRUTH_METRICS.get(record.kind)

    def rename(by_name: dict) -> dict:
        """Drop the other kind's lexical metric; call this kind's ``ground-truth``."""
        return {(GROUND_TRUTH if name == metric else name): value for name, value in by_name.items()
                if name == metric or name not in GROUND_TRUTH_METRICS.values()}

    return rename(record.scores), rename(record.evaluator_costs)


def _entry(record: ProfileRecord, where: str) -> Entry:
    scores, costs = _merged_scores(record)
    for name, value in scores.items():
        if not 0.0 <= value <= 1.0:
            raise ProfileError(f"{where}: score {name}={value} for task {record.task_id!r}, model "
                               f"{record.model!r} is outside [0, 1]: re-record the profile with `poq eval`")
    for value, what in ((record.latency_ms, "latency_ms"), (record.output_tokens, "output_tokens"),
                        (record.peak_memory_mb, "peak_memory_mb")):
        if value < 0:
            raise ProfileError(f"{where}: {what}={value} for task {record.task_id!r}, model {record.model!r} "
                               "is negative: re-record the profile with `poq eval`")
    return Entry(
        model=record.model,
        output=record.output,
        cost=Cost.measured(record.latency_ms, record.output_tokens, record.peak_memory_mb),
        scores={name: to_wad(v) for name, v in scores.items()},
        evaluator_costs=costs,
    )


def load_pool(path: Path | str = DEFAULT_PROFILE, evaluators: tuple[str, ...] | None = None) -> ProfilePool:
    """Load a JSONL profile into a pool; ``evaluators`` restricts the committee pool by name.

    Keeps the tasks every model answered; an evaluator joins the pool if every kept record
    has both its score and its cost. Raises ``ProfileError`` naming what to fix.
    """
    path = Path(path)
    if not path.is_file():
        hint = (" (the default profile is recorded by `poq eval`)" if path == DEFAULT_PROFILE else "")
        raise ProfileError(f"profile {path} does not exist{hint}: record one with `poq eval` "
                           "or pass --profile PATH to a records.jsonl")
    by_task: dict[str, dict[str, Entry]] = {}
    kinds: dict[str, str] = {}
    duplicates = 0
    try:
        for n, record in enumerate(read_records(path), start=1):
            entry = _entry(record, f"{path} record {n}")
            kinds[record.task_id] = record.kind
            duplicates += record.model in by_task.setdefault(record.task_id, {})
            by_task[record.task_id][record.model] = entry
    except ProfileError:
        raise
    except ValueError as exc:
        raise ProfileError(str(exc)) from exc
    if not by_task:
        raise ProfileError(f"profile {path} holds no records: record one with `poq eval`")

    models = tuple(sorted({m for entries in by_task.values() for m in entries}))
    complete = {t: e for t, e in by_task.items() if len(e) == len(models)}
    notes = []
    if duplicates:
        notes.append(f"{duplicates} repeated (task, model) records: the last one of each was kept")
    if len(complete) < len(by_task):
        notes.append(f"{len(by_task) - len(complete)} of {len(by_task)} tasks left out: not every model "
                     "answered them")
    if not complete:
        raise ProfileError(f"profile {path}: no task was answered by all {len(models)} models "
                           f"({', '.join(models)}): finish recording the profile")

    records = [e for entries in complete.values() for e in entries.values()]
    candidates = sorted({name for e in records for name in e.scores})
    eligible = [name for name in candidates
                if all(name in e.scores and name in e.evaluator_costs for e in records)]
    for name in candidates:
        if name not in eligible:
            notes.append(f"evaluator {name!r} left out: some records lack its score or its cost")
    if evaluators is not None:
        unknown = [name for name in evaluators if name not in eligible]
        if unknown:
            raise ProfileError(f"evaluator(s) {', '.join(unknown)} not usable in {path}; "
                               f"usable: {', '.join(eligible) or 'none'}")
        eligible = list(evaluators)
    if not eligible:
        raise ProfileError(f"profile {path}: no evaluator has a score and a cost in every record, "
                           "so no committee can be drawn: record evaluator costs with `poq eval`")
    # Learned evaluators first, the ground-truth one last: adversary scenarios pick from the front.
    ordered = tuple(sorted(eligible, key=lambda name: (name == GROUND_TRUTH, name)))
    tasks = tuple(TaskDraw(t, kinds[t], entries) for t, entries in sorted(complete.items()))
    return ProfilePool(path, tasks, models, ordered, tuple(notes))
