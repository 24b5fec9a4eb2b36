"""Tables and plots of an eval run: correlations, quality vs cost, evaluator cost, suggested params.

Pearson's r comes with its n and a 95% confidence interval from Fisher's z
transform (``atanh(r) +- 1.96 / sqrt(n - 3)``), so a correlation over a handful
of items reads as the wide interval it is. Every table is written as CSV (for
tools) and Markdown (for docs); plots use matplotlib's Agg backend (no display).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from oracle.pipeline.cost_profile import (
    EvaluatorProfile,
    ModelProfile,
    SweepPoint,
    evaluator_profiles,
    model_profiles,
    suggested_params,
)
from oracle.pipeline.records import ProfileRecord

Z95 = 1.959963984540054
# Yardsticks every evaluator is compared with, by task kind: the paper's token F1 and its judge.
REFERENCE_METRIC = {"qa": "token_f1", "summarization": "rouge_l"}
JUDGE = "judge"


@dataclass(frozen=True)
class Correlation:
    r: float
    n: int
    lo: float
    hi: float

    def fmt(self) -> str:
        if math.isnan(self.r):
            return f"n/a (n={self.n})"
        ci = "" if math.isnan(self.lo) else f" [{self.lo:+.2f}, {self.hi:+.2f}]"
        return f"{self.r:+.2f}{ci} (n={self.n})"


def pearson(x: Sequence[float], y: Sequence[float]) -> Correlation:
    """Pearson's r with a 95% Fisher-z interval; NaN where undefined (n < 2 or a constant series)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(a)
    if n < 2 or a.std() == 0 or b.std() == 0:
        return Correlation(float("nan"), n, float("nan"), float("nan"))
    r = float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))
    if n <= 3 or abs(r) == 1.0:
        return Correlation(r, n, float("nan"), float("nan"))
    z, se = math.atanh(r), 1.0 / math.sqrt(n - 3)
    return Correlation(r, n, math.tanh(z - Z95 * se), math.tanh(z + Z95 * se))


def paired(records: Sequence[ProfileRecord], a: str, b: str) -> tuple[list[float], list[float]]:
    rows = [r for r in records if a in r.scores and b in r.scores]
    return [r.scores[a] for r in rows], [r.scores[b] for r in rows]


def evaluator_names(records: Sequence[ProfileRecord]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        seen.update(dict.fromkeys(r.scores))
    return list(seen)


def correlation_rows(records: Sequence[ProfileRecord]) -> list[dict]:
    """Every evaluator vs the kind's lexical yardstick (F1 / ROUGE-L) and vs the judge, per task kind."""
    rows = []
    for kind in sorted({r.kind for r in records}):
        rs = [r for r in records if r.kind == kind]
        yardstick = REFERENCE_METRIC[kind]
        for name in evaluator_names(rs):
            row: dict[str, Any] = {"kind": kind, "evaluator": name, "lexical": yardstick}
            for label, other in (("vs_lexical", yardstick), ("vs_judge", JUDGE)):
                c = pearson(*paired(rs, name, other)) if name != other else Correlation(1.0, 0, math.nan, math.nan)
                row.update({f"{label}_r": c.r, f"{label}_n": c.n, f"{label}_lo": c.lo, f"{label}_hi": c.hi,
                            label: "—" if name == other else c.fmt()})
            rows.append(row)
    return rows


def correlation_matrix(records: Sequence[ProfileRecord]) -> tuple[list[str], np.ndarray]:
    names = evaluator_names(records)
    m = np.full((len(names), len(names)), np.nan)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            m[i, j] = 1.0 if i == j else pearson(*paired(records, a, b)).r
    return names, m


def _write_table(out: Path, stem: str, header: list[str], rows: list[list], title: str) -> None:
    with open(out / f"{stem}.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    (out / f"{stem}.md").write_text(markdown_table(header, rows, title), encoding="utf-8")


def _cell(v) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def markdown_table(header: list[str], rows: list[list], title: str = "") -> str:
    lines = [f"**{title}**", ""] if title else []
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def write_correlations(records: Sequence[ProfileRecord], out: Path) -> None:
    rows = correlation_rows(records)
    csv_header = ["kind", "evaluator", "lexical"] + [f"{label}_{part}" for label in ("vs_lexical", "vs_judge")
                                                     for part in ("r", "n", "lo", "hi")]
    with open(out / "correlations.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=csv_header, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    md = ["Pearson r [95% CI, Fisher z] (n) of each evaluator's scores with the lexical yardstick "
          "(token F1 for QA, ROUGE-L for summaries) and with the judge, over the same outputs.", ""]
    for kind in sorted({row["kind"] for row in rows}):
        krows = [row for row in rows if row["kind"] == kind]
        md.append(markdown_table(["evaluator", f"vs {REFERENCE_METRIC[kind]}", "vs judge"],
                                 [[row["evaluator"], row["vs_lexical"], row["vs_judge"]] for row in krows], kind))
    (out / "correlations.md").write_text("\n".join(md), encoding="utf-8")


def write_quality_cost(profiles: list[ModelProfile], out: Path) -> None:
    evaluators = sorted({e for p in profiles for e in p.quality})
    header = (["model", "n", "latency median ms", "latency p90 ms", "answers/s", "output tok/s",
               "peak memory MB"] + [f"mean {e}" for e in evaluators] + [f"{e} per s" for e in evaluators])
    rows = [[p.model, p.n, p.latency_median_ms, p.latency_p90_ms, p.answers_per_s, p.output_tokens_per_s,
             p.peak_memory_mb] + [p.quality.get(e, float("nan")) for e in evaluators]
            + [p.quality_per_s(e) for e in evaluators] for p in profiles]
    _write_table(out, "quality_cost", header, rows, "Quality and cost per model (quality per s = mean score / "
                 "median latency in s)")


def write_evaluator_cost(profiles: list[EvaluatorProfile], out: Path) -> None:
    header = ["evaluator", "outputs scored", "latency median ms", "latency p90 ms", "outputs/s", "tokens/s",
              "tokens per output", "peak memory MB"]
    rows = [[p.evaluator, p.n, p.latency_median_ms, p.latency_p90_ms, p.outputs_per_s, p.tokens_per_s,
             p.tokens_mean, p.peak_memory_mb] for p in profiles]
    _write_table(out, "evaluator_cost", header, rows, "Cost of scoring one output (amortised over its round's batch)")


def write_sweep(points: list[SweepPoint], out: Path) -> None:
    header = ["evaluator", "batch size", "texts", "median ms", "texts/s", "peak memory MB"]
    rows = [[p.evaluator, p.batch_size, p.texts, p.median_ms, p.texts_per_s, p.peak_memory_mb] for p in points]
    _write_table(out, "batch_sweep", header, rows, "Embedding throughput by batch size")


def plot_quality_latency(profiles: list[ModelProfile], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evaluators = sorted({e for p in profiles for e in p.quality})
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for e in evaluators:
        xs = [p.latency_median_ms / 1000 for p in profiles]
        ys = [p.quality.get(e, float("nan")) for p in profiles]
        ax.plot(xs, ys, "o", label=e)
    for p in profiles:
        ax.annotate(p.model, (p.latency_median_ms / 1000, max(p.quality.values(), default=0)), fontsize=8,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("median latency per answer (s)")
    ax.set_ylabel("mean quality score")
    ax.set_ylim(0, 1)
    ax.set_title("Quality vs latency per model")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "quality_vs_latency.png", dpi=110)
    plt.close(fig)


def plot_correlation_matrix(records: Sequence[ProfileRecord], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, m = correlation_matrix(records)
    fig, ax = plt.subplots(figsize=(1.1 * len(names) + 2, 1.1 * len(names) + 1.5))
    im = ax.imshow(m, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, "n/a" if np.isnan(m[i, j]) else f"{m[i, j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label="Pearson r")
    ax.set_title(f"Evaluator correlations (n={len(records)} outputs)")
    fig.tight_layout()
    fig.savefig(out / "correlation_matrix.png", dpi=110)
    plt.close(fig)


def write_report(records: Sequence[ProfileRecord], out: Path, sweep: list[SweepPoint] | None = None) -> list[Path]:
    """Every table and plot of a run into ``out``; returns the files written."""
    if not records:
        raise ValueError(f"no records in {out}: nothing to report (did the run finish a chunk?)")
    models = model_profiles(records)
    write_correlations(records, out)
    write_quality_cost(models, out)
    write_evaluator_cost(evaluator_profiles(records), out)
    (out / "suggested_params.json").write_text(json.dumps(suggested_params(records), indent=2) + "\n")
    plot_quality_latency(models, out)
    plot_correlation_matrix(records, out)
    names = ["correlations.csv", "correlations.md", "quality_cost.csv", "quality_cost.md", "evaluator_cost.csv",
             "evaluator_cost.md", "suggested_params.json", "quality_vs_latency.png", "correlation_matrix.png"]
    if sweep:
        write_sweep(sweep, out)
        names += ["batch_sweep.csv", "batch_sweep.md"]
    return [out / n for n in names]
