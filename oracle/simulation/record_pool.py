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

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from oracle.errors import UsageError
from oracle.pipeline.cost_profile import cost_reference
from oracle.pipeline.probes import IDK, PROBES_VERSION
from oracle.pipeline.records import EvaluatorCost, ProbeRecord, ProfileRecord, read_probes
from oracle.protocol.params import MAX_SLOTS, WAD, CostModel, Params, to_wad
from oracle.protocol.reward import Cost

DEFAULT_PROFILE = Path(__file__).resolve().parent.parent / "profiles" / "default" / "records.jsonl"

# The reference-based metric of each task kind, and the one evaluator they are merged into.
GROUND_TRUTH_METRICS = {"qa": "token_f1", "summarization": "rouge_l"}
GROUND_TRUTH = "ground-truth"

# Costs are uint64 on the contract, and a committee member attests the sum of up to MAX_SLOTS item costs
# (the evaluator's cost reference is slots x the p90): a recorded measure may be at most MAX_MEASURE, so
# every sum and every suggested reference still fits, with room for the float rounding of a p90.
MAX_MEASURE = 10**17  # 64 x 1e17 = 6.4e18 < 2^64 - 1 = 1.8e19
RECORD_FIX = "re-record the profile with `poq eval` or fix that line"


class ProfileError(UsageError):
    """The profile cannot be simulated; the message names the file, the value and the fix."""


# --------------------------------------------------------------------------- reading, strictly

_TEXT_FIELDS = ("task_id", "kind", "source", "template", "model", "output")
_MEASURES = {"latency_ms": False, "prompt_tokens": True, "output_tokens": True, "peak_memory_mb": False}
_EVALUATOR_MEASURES = {"latency_ms": False, "tokens": True, "peak_memory_mb": False}


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _measure(value: Any, field: str, integral: bool, fail) -> float | int:
    """A recorded cost measure: a finite number >= 0 (whole for token counts) that fits ``MAX_MEASURE``."""
    kind = "a whole number" if integral else "a number"
    if value is None:
        fail(field, f"is null: it must be {kind} >= 0")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(field, f"is {value!r:.40} ({type(value).__name__}): it must be {kind} >= 0")
    if not math.isfinite(value):
        fail(field, f"is {value}: it must be a finite {kind}")
    if integral and value != int(value):
        fail(field, f"is {value}: a token count must be a whole number")
    if value < 0:
        fail(field, f"is {value}: it must be >= 0")
    if value > MAX_MEASURE:
        fail(field, f"is {value:.6g}, above {MAX_MEASURE:.0e}: a round sums up to {MAX_SLOTS} such measures "
                    "into the contract's uint64")
    return int(value) if integral else value


def _record(raw: Any, fail) -> ProfileRecord:
    """A ``ProfileRecord`` from one parsed line, every field's type checked; ``fail(field, problem)`` raises."""
    if not isinstance(raw, dict):
        fail(None, f"expected a JSON object (a profile record), got {type(raw).__name__}")
    known = {f.name for f in fields(ProfileRecord)}
    missing = sorted(f for f in known - {"evaluator_costs"} if f not in raw)
    if missing:
        fail(missing[0], "missing")
    extra = sorted(set(raw) - known)
    if extra:
        fail(extra[0], "is not a profile record field")
    for name in _TEXT_FIELDS:
        if not isinstance(raw[name], str):
            fail(name, f"is {raw[name]!r:.40} ({type(raw[name]).__name__}): it must be a string")
    for name in ("task_id", "model"):
        if not raw[name].strip():
            fail(name, "is empty")
    measures = {name: _measure(raw[name], name, integral, fail) for name, integral in _MEASURES.items()}
    scores = raw["scores"]
    if not isinstance(scores, dict):
        fail("scores", f"is {type(scores).__name__}: it must be an object of evaluator -> score")
    for name, value in scores.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail(f"scores.{name}", f"is {value!r:.40}: a score must be a finite number in [0, 1]")
    costs_raw = raw.get("evaluator_costs", {})
    if not isinstance(costs_raw, dict):
        fail("evaluator_costs", f"is {type(costs_raw).__name__}: it must be an object of evaluator -> cost")
    costs = {}
    for name, cost in costs_raw.items():
        where = f"evaluator_costs.{name}"
        if not isinstance(cost, dict):
            fail(where, f"is {type(cost).__name__}: it must be an object with latency_ms, tokens, peak_memory_mb")
        if set(cost) != set(_EVALUATOR_MEASURES):
            fail(where, f"has the keys {sorted(cost)}: it must have exactly latency_ms, tokens, peak_memory_mb")
        measured: dict[str, Any] = {k: _measure(cost[k], f"{where}.{k}", integral, fail)
                                    for k, integral in _EVALUATOR_MEASURES.items()}
        costs[name] = EvaluatorCost(**measured)
    return ProfileRecord(**{**{n: raw[n] for n in _TEXT_FIELDS}, **measures,
                            "scores": {k: float(v) for k, v in scores.items()}, "evaluator_costs": costs})


def read_profile(path: Path) -> Iterator[ProfileRecord]:
    """The records of a JSONL profile, each field checked; a bad one raises ``ProfileError`` naming the file,
    the line and the field."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue

            def fail(field: str | None, problem: str, lineno: int = lineno) -> None:
                what = f"field {field!r} " if field else ""
                raise ProfileError(f"{path}:{lineno}: not a profile record: {what}{problem}; {RECORD_FIX}")

            try:
                raw = json.loads(line, parse_constant=_no_constant)
            except ValueError as exc:  # JSONDecodeError, NaN / Infinity
                raise ProfileError(f"{path}:{lineno}: not a profile record ({exc}); profiles are the "
                                   "records.jsonl that `poq eval` writes") from None
            yield _record(raw, fail)


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
    """A task, every model's entry for it, and an entry for each probe (a non-answer) recorded on it."""

    task_id: str
    kind: str
    entries: dict[str, Entry]
    probes: dict[str, Entry] = field(default_factory=dict)


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

    def default_params(self, slots: int) -> Params:
        """The default parameters with cost references at this pool's p90s (what `poq simulate` runs with)."""
        base = Params()
        inference, evaluator = self.suggested_cost_models(slots, base.inference_cost, base.evaluator_cost)
        return base.with_(inference_cost=inference, evaluator_cost=evaluator)

    def has_probe(self, probe: str) -> bool:
        """Whether every task carries ``probe``, scored and costed by every pool evaluator."""
        return all(probe in t.probes and all(e in t.probes[probe].scores and e in t.probes[probe].evaluator_costs
                                             for e in self.evaluators) for t in self.tasks)

    def mean_score(self, model: str, evaluators: tuple[str, ...] | None = None) -> float:
        """The model's mean score over the pool's tasks and ``evaluators`` (all by default), in [0, 1]."""
        names = evaluators or self.evaluators
        values = [t.entries[model].scores[e] for t in self.tasks for e in names]
        return sum(values) / len(values) / WAD


def _merged_scores(record: ProfileRecord | ProbeRecord) -> tuple[dict[str, float], dict[str, EvaluatorCost]]:
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


PROBES_FILE = "probes.jsonl"
# What a probe answer costs the node that sends it: it runs no model.
PROBE_LATENCY_MS = 1
PROBE_MEMORY_MB = 1
# The text a probe entry reveals in a simulated round where the text is the same for every task; for
# the others (the question, the lead sentence) the profile keeps no text, so a label stands in.
PROBE_TEXT = {"idk": IDK}


def _probe_entry(probe: ProbeRecord, where: str) -> Entry:
    scores, costs = _merged_scores(probe)

    def fail(field: str | None, problem: str) -> None:
        raise ProfileError(f"{where}: probe {probe.probe!r} of task {probe.task_id!r}: {field} {problem}; "
                           f"{RECORD_FIX}")

    for name, value in scores.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            fail(f"scores.{name}", f"is {value!r:.40}: a score must be a number in [0, 1]")
    for name, cost in costs.items():
        for k, integral in _EVALUATOR_MEASURES.items():
            _measure(getattr(cost, k), f"evaluator_costs.{name}.{k}", integral, fail)
    tokens = _measure(probe.output_tokens, "output_tokens", True, fail)
    return Entry(model=f"probe:{probe.probe}", output=PROBE_TEXT.get(probe.probe, f"<{probe.probe} probe>"),
                 cost=Cost(latency_ms=PROBE_LATENCY_MS, tokens=int(tokens), memory_mb=PROBE_MEMORY_MB),
                 scores={name: to_wad(v) for name, v in scores.items()}, evaluator_costs=costs)


def load_probes(path: Path) -> tuple[dict[str, dict[str, Entry]], list[str]]:
    """task id -> probe name -> entry, from the ``probes.jsonl`` beside a profile; and notes on what was
    left out. A profile recorded before probes existed has none: the lazy scenarios then say so."""
    probes_path = path.parent / PROBES_FILE
    if not probes_path.is_file():
        return {}, [f"no {PROBES_FILE} beside {path}: the lazy and copying scenarios need the probes that "
                    "`poq eval` records"]
    by_task: dict[str, dict[str, Entry]] = {}
    stale = 0
    try:
        for n, probe in enumerate(read_probes(probes_path), start=1):
            if probe.version != PROBES_VERSION:
                stale += 1
                continue
            by_task.setdefault(probe.task_id, {})[probe.probe] = _probe_entry(probe, f"{probes_path} line {n}")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, ProfileError):
            raise
        raise ProfileError(f"probes {probes_path} cannot be read ({exc}): {RECORD_FIX}") from None
    notes = [f"{stale} probe records of another version than {PROBES_VERSION} ignored: re-record them with "
             "`poq eval`"] if stale else []
    return by_task, notes


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
    if evaluators is not None:
        repeated = sorted({name for name in evaluators if evaluators.count(name) > 1})
        if repeated:
            raise ProfileError(f"evaluator(s) {', '.join(repeated)} listed more than once: a committee seats "
                               "distinct evaluators, so give each once")
    try:
        for n, record in enumerate(read_profile(path), start=1):
            entry = _entry(record, f"{path} record {n}")
            kinds[record.task_id] = record.kind
            duplicates += record.model in by_task.setdefault(record.task_id, {})
            by_task[record.task_id][record.model] = entry
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path} cannot be read ({exc}): pass --profile PATH to a records.jsonl") \
            from None
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
    probes, probe_notes = load_probes(path)
    tasks = tuple(TaskDraw(t, kinds[t], entries, probes.get(t, {})) for t, entries in sorted(complete.items()))
    return ProfilePool(path, tasks, models, ordered, tuple(notes + probe_notes))
