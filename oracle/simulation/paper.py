"""The paper side by side: each of its published figures beside this project's on the same measure.

The paper (Tian et al., "Design and Evaluation of Cost-Aware PoQ for Decentralized
LLM Inference", arXiv 2512.16317v1) profiles five 1.1B-3.8B models and three
learned evaluators on an RTX 4090, with gpt-4o-mini as judge. This project's
default profile plays the same parts with what installs offline: packaged models
of 135M-1.5B parameters on one CPU thread, the MiniLM bi-encoder for the paper's
STS bi-encoder, ``qwen-cross`` (an instruct LM reading source and answer) for its
cross-encoders, and a local Qwen2.5-1.5B judge for its GPT judge. So the rows
compare *claims* (which architecture tracks the ground truth, whether the
largest model is the most efficient, whom the cost-aware reward pays most), each
measured here the way the paper measured it.

Everything here is computed from the profile and one honest Monte Carlo run; the
paper's figures are the constants below, as its text reports them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from oracle.pipeline.eval_report import REFERENCE_METRIC, markdown_table, paired, pearson
from oracle.pipeline.models import REGISTRY
from oracle.pipeline.records import ProfileRecord
from oracle.simulation.engine import SimulationConfig, draw_rounds, sim_rounds
from oracle.simulation.record_pool import GROUND_TRUTH, ProfilePool, load_pool, read_profile
from oracle.simulation.reference_backend import ReferenceBackend
from oracle.simulation.scenarios import Scenario
from oracle.simulation.stats import node_stats

PAPER = "Tian et al., arXiv 2512.16317v1"

# Evaluator architecture -> (the paper's evaluator, r with token F1, r with the GPT judge).
PAPER_CORRELATIONS = {
    "bi-encoder": (("STS-DistilRoBERTa", 0.66, 0.29),),
    "cross-encoder": (("CE-MiniLM", -0.24, -0.17), ("CE-DeBERTa", -0.04, 0.03)),
}
# The evaluator of this project that plays each architecture's part.
OUR_EVALUATOR = {"bi-encoder": "minilm-bi", "cross-encoder": "qwen-cross"}
OUR_JUDGE = "judge"


@dataclass(frozen=True)
class PaperModel:
    name: str  # this project's registry name for the paper's model
    f1: str  # mean token F1 in [0, 1] (the paper scales it to 0-10), as reported
    judge: str  # mean GPT score in [0, 1], as reported
    latency_s: str  # as reported
    reward: float  # Monte Carlo average normalised reward


# The paper's models in its reward order; "" where the text gives no figure.
PAPER_MODELS = (
    PaperModel("llama-3.2-3b", "0.53", "0.90", "1.1", 0.623),
    PaperModel("gemma-2-2b", "0.53", "0.87", "1.1", 0.598),
    PaperModel("tinyllama-1.1b", "", "", "", 0.426),
    PaperModel("qwen2-1.5b", "< 0.17", "", "> 2.3", 0.157),
    PaperModel("phi-3-mini", "< 0.17", "", "> 2.3", 0.126),
)
PAPER_EVALUATOR_REWARD = ("STS-DistilRoBERTa", 0.856)  # the best-paid evaluator in the paper


def _size(model: str) -> float:
    """Parameters in billions; NaN for a model the registry does not size (it sorts first, as the smallest)."""
    spec = REGISTRY.get(model)
    return spec.params_b if spec and spec.params_b is not None else math.nan


def _by_size(size: float) -> float:
    return -math.inf if math.isnan(size) else size


def _size_label(model: str) -> str:
    size = _size(model)
    return "?" if math.isnan(size) else f"{size:g}B"


def _truth(record: ProfileRecord) -> float | None:
    return record.scores.get(REFERENCE_METRIC[record.kind])


def correlation_table(records: Sequence[ProfileRecord]) -> str:
    """r [95% CI] (n) with the lexical ground truth and with the judge, per architecture and task kind."""
    rows = []
    for arch, paper_rows in PAPER_CORRELATIONS.items():
        ours = OUR_EVALUATOR[arch]
        for paper_name, paper_f1, paper_judge in paper_rows:
            cells = [arch, f"{paper_name}: {paper_f1:+.2f}", f"{paper_judge:+.2f}", ours]
            for kind in ("qa", "summarization"):
                of_kind = [r for r in records if r.kind == kind]
                if not of_kind:
                    cells += ["no such tasks", "no such tasks"]
                    continue
                if not any(ours in r.scores for r in of_kind):
                    cells += ["not recorded", "not recorded"]
                    continue
                cells.append(pearson(*paired(of_kind, ours, REFERENCE_METRIC[kind])).fmt())
                cells.append(pearson(*paired(of_kind, ours, OUR_JUDGE)).fmt())
            rows.append(cells)
    header = ["architecture", "paper r vs F1", "paper r vs GPT", "ours", "QA r vs token F1", "QA r vs judge",
              "summaries r vs ROUGE-L", "summaries r vs judge"]
    return markdown_table(header, rows, "Evaluator correlations: the paper (both tasks pooled) beside ours "
                                        "(per task kind, Pearson r [95% CI] (n))")


@dataclass(frozen=True)
class ModelRow:
    model: str
    size_b: float
    quality: float  # mean ground truth: token F1 on QA, ROUGE-L on summaries
    judge: float
    latency_s: float  # median

    @property
    def quality_per_s(self) -> float:
        return self.quality / self.latency_s


def model_rows(records: Sequence[ProfileRecord]) -> list[ModelRow]:
    """Each model's mean ground truth, mean judge score and median latency, smallest model first."""
    rows = []
    for model in sorted({r.model for r in records}, key=lambda m: (_by_size(_size(m)), m)):
        mine = [r for r in records if r.model == model]
        truth = [t for r in mine if (t := _truth(r)) is not None]
        judge = [r.scores[OUR_JUDGE] for r in mine if OUR_JUDGE in r.scores]
        rows.append(ModelRow(model, _size(model), statistics.fmean(truth) if truth else math.nan,
                             statistics.fmean(judge) if judge else math.nan,
                             statistics.median(r.latency_ms for r in mine) / 1000.0))
    return rows


def quality_table(rows: Sequence[ModelRow]) -> str:
    paper = [[m.name, _size_label(m.name), m.f1 or "—", m.judge or "—", m.latency_s or "—", "—"]
             for m in PAPER_MODELS]
    ours = [[r.model, _size_label(r.model), f"{r.quality:.3f}", f"{r.judge:.3f}", f"{r.latency_s:.2f}",
             f"{r.quality_per_s:.3f}"] for r in rows]
    header = ["model", "size", "mean F1 (ours: F1 on QA, ROUGE-L on summaries)", "mean judge", "median latency s",
              "quality per s"]
    return (markdown_table(header, paper, f"Quality and latency: the paper ({PAPER}, RTX 4090)") + "\n"
            + markdown_table(header, ours, "Quality and latency: this project (one CPU thread)"))


def honest_rewards(pool: ProfilePool, rounds: int = 5_000, seed: int = 0, slots: int = 5,
                   committee: int = 3) -> dict[str, float]:
    """Average normalised reward per node in the honest Monte Carlo, as `poq simulate` runs it by default."""
    params = pool.default_params(slots)
    draws = draw_rounds(pool, SimulationConfig(rounds, slots, committee, seed))
    played = sim_rounds(pool, draws, Scenario(), seed)
    return {s.name: s.mean_reward for s in node_stats(played, ReferenceBackend().run(played, params))}


def reward_table(pool: ProfilePool, rewards: dict[str, float]) -> str:
    paper_rank = [m.name for m in PAPER_MODELS]
    models = sorted(pool.models, key=lambda m: -rewards[m])
    rows = []
    for i in range(max(len(paper_rank), len(models))):
        paper = (f"{PAPER_MODELS[i].name} ({_size_label(PAPER_MODELS[i].name)}): {PAPER_MODELS[i].reward:.3f}"
                 if i < len(paper_rank) else "")
        ours = f"{models[i]} ({_size_label(models[i])}): {rewards[models[i]]:+.3f}" if i < len(models) else ""
        rows.append([str(i + 1), paper, ours])
    evaluators = sorted(pool.evaluators, key=lambda e: -rewards[e])
    rows.append(["best evaluator", f"{PAPER_EVALUATOR_REWARD[0]}: {PAPER_EVALUATOR_REWARD[1]:.3f}",
                 f"{evaluators[0]}: {rewards[evaluators[0]]:+.3f}"])
    for e in evaluators[1:]:
        rows.append(["", "", f"{e}: {rewards[e]:+.3f}"])
    return markdown_table(["rank", "paper: average reward", "ours: average reward (5,000 honest rounds, K = 3)"],
                          rows, "Monte Carlo average reward per model and per evaluator")


def verdicts(records: Sequence[ProfileRecord], rows: Sequence[ModelRow], pool: ProfilePool,
             rewards: dict[str, float]) -> str:
    """The paper's three claims, each with this project's answer computed from the tables above."""
    qa = [r for r in records if r.kind == "qa"]
    bi = pearson(*paired(qa, OUR_EVALUATOR["bi-encoder"], "token_f1"))
    cross_name = OUR_EVALUATOR["cross-encoder"]
    if any(cross_name in r.scores for r in qa):
        cross = pearson(*paired(qa, cross_name, "token_f1"))
        agree = "agrees" if bi.r > cross.r else "does not agree"
        evaluators = (f"{agree}: on QA the bi-encoder's r with token F1 is {bi.r:+.2f}, the cross-encoder's "
                      f"{cross.r:+.2f}")
    else:
        evaluators = (f"cannot be checked yet: the profile holds no `{cross_name}` scores (the bi-encoder's r "
                      f"with token F1 on QA is {bi.r:+.2f})")
    largest = max(rows, key=lambda r: _by_size(r.size_b))
    best_q = max(rows, key=lambda r: r.quality)
    best_qps = max(rows, key=lambda r: r.quality_per_s)
    efficiency = ("agrees" if largest is best_qps else "does not agree") + (
        f": the largest model, {largest.model}, has {'the best' if largest is best_q else 'not the best'} quality "
        f"({largest.quality:.3f}) and {'the best' if largest is best_qps else 'not the best'} quality per second "
        f"({largest.quality_per_s:.3f}; best {best_qps.model}, {best_qps.quality_per_s:.3f})")
    by_reward = sorted(pool.models, key=lambda m: -rewards[m])
    top_qps = max((r for r in rows if r.model in pool.models), key=lambda r: r.quality_per_s)
    if by_reward[0] == top_qps.model:
        reward = f"agrees: the best-paid model, {top_qps.model}, also has the best quality per second"
    else:
        paid = next(r for r in rows if r.model == by_reward[0])
        which = "the best" if paid is best_q else "not the best"
        reward = (f"partly: the best-paid model is {paid.model}, with {which} quality ({paid.quality:.3f}) at "
                  f"{paid.latency_s:.2f} s, while {top_qps.model}, the best quality per second, is paid "
                  f"{_ordinal(by_reward.index(top_qps.model) + 1)}: with the default alpha and beta the reward "
                  "follows quality more than latency")
    lines = [
        "**The paper's claims, measured on this profile**",
        "",
        f"- *A bi-encoder tracks the ground truth far better than cross-encoders*: {evaluators}.",
        f"- *The largest models are also the most efficient per unit of latency*: {efficiency}.",
        f"- *Cost-aware rewards pay high quality at low cost the most*: {reward}.",
    ]
    return "\n".join(lines) + "\n"


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")


def side_by_side(profile: Path, rounds: int = 5_000, seed: int = 0) -> str:
    """The whole comparison as Markdown: correlations, quality and latency, rewards, and the verdicts."""
    pool = load_pool(profile)  # first: it names a missing or bad profile and the fix
    records = list(read_profile(profile))
    rewards = honest_rewards(pool, rounds, seed)
    rows = model_rows(records)
    ground_truth = f"(`{GROUND_TRUTH}` in the Monte Carlo)"
    head = (f"Generated by `poq paper` from {profile.name} ({len(records)} records, {len(pool.tasks)} tasks) and "
            f"{rounds:,} honest Monte Carlo rounds; the ground truth is token F1 on QA and ROUGE-L on summaries "
            f"{ground_truth}.\n")
    return "\n".join([head, correlation_table(records), quality_table(rows), reward_table(pool, rewards),
                      verdicts(records, rows, pool, rewards)])
