"""A simulation's results as terminal tables, CSV, JSON and PNG plots (matplotlib, Agg)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from oracle.protocol.params import Aggregation
from oracle.simulation.adversary import AGGREGATIONS, ScenarioResult
from oracle.simulation.stats import INFERENCE, NodeStats, Plays, by_name


def node_table(stats: Sequence[NodeStats], title: str) -> Table:
    table = Table(title=title)
    for col in ("node", "role", "plays", "avg reward", "std", "95% CI ±", "quality/agreement", "cost",
                "paid ETH", "slashed ETH"):
        table.add_column(col, justify="left" if col in ("node", "role") else "right")
    for s in stats:
        table.add_row(s.name, s.role, str(s.rounds), f"{s.mean_reward:.3f}", f"{s.std:.3f}", f"{s.ci95:.3f}",
                      f"{s.mean_score:.3f}", f"{s.mean_cost:.3f}", f"{s.paid_eth:.2f}", f"{s.slashed_eth:.1f}")
    return table


def _signed(x: float | None) -> str:
    return "" if x is None else f"{x:+.3f}"


def adversary_table(results: Sequence[ScenarioResult]) -> Table:
    """One row per scenario: the adversaries' gain, the colluder's, the worst-hit honest node's change."""
    table = Table(title="Adversaries: change in average reward vs the honest baseline (mean | median aggregation)")
    table.add_column("scenario")
    table.add_column("adversary")
    for what in ("adversary Δ", "colluder Δ", "worst honest Δ"):
        for how in AGGREGATIONS:
            table.add_column(f"{what}\n{how.name.lower()}", justify="right")
    for r in results:
        worst = {how: r.worst_honest(how) for how in AGGREGATIONS}
        table.add_row(
            r.scenario.name, ", ".join(r.scenario.adversaries),
            *(_signed(r.adversary_gain(h)) for h in AGGREGATIONS),
            *(_signed(r.beneficiary_gain(h)) for h in AGGREGATIONS),
            *(f"{worst[h][1]:+.3f} ({worst[h][0]})" for h in AGGREGATIONS))
    return table


def print_adversaries(console: Console, results: Sequence[ScenarioResult]) -> None:
    console.print(adversary_table(results))
    for r in results:
        console.print(f"  [bold]{r.scenario.name}[/bold]: {r.scenario.description}")


def write_csv(path: Path, stats: Sequence[NodeStats]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(asdict(stats[0])))
        writer.writeheader()
        writer.writerows(asdict(s) for s in stats)


def adversary_rows(results: Sequence[ScenarioResult]) -> list[dict]:
    """Every node's change in every scenario under each aggregation, flat (for CSV and JSON)."""
    rows = []
    for r in results:
        for how in AGGREGATIONS:
            base, deltas = by_name(r.baseline[how]), r.deltas(how)
            for s in r.attacked[how]:
                rows.append({"scenario": r.scenario.name, "aggregation": how.name.lower(), "node": s.name,
                             "role": s.role, "adversary": s.name in r.scenario.adversaries,
                             "beneficiary": s.name == r.scenario.beneficiary,
                             "baseline_reward": base[s.name].mean_reward, "reward": s.mean_reward,
                             "delta": deltas[s.name]})
    return rows


def write_adversary_csv(path: Path, results: Sequence[ScenarioResult]) -> None:
    rows = adversary_rows(results)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value):
    if isinstance(value, Aggregation):
        return value.name.lower()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


# ---------------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_distribution(path: Path, plays: dict[str, Plays]) -> None:
    """Per-round reward of every node, one box per node, inference and evaluators side by side."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, role in zip(axes, (INFERENCE, "evaluator"), strict=True):
        names = [n for n, p in plays.items() if p.role == role]
        ax.boxplot([plays[n].rewards for n in names], showmeans=True)
        ax.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right")
        ax.set_title(f"{role} nodes: reward per round")
        ax.set_ylabel("normalised reward")
        ax.set_ylim(-0.02, 1.02)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_beta_sweep(path: Path, sweep: dict[float, list[NodeStats]]) -> None:
    """Average reward of every node against beta (the same beta for both roles)."""
    plt = _pyplot()
    betas = sorted(sweep)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, role in zip(axes, (INFERENCE, "evaluator"), strict=True):
        names = [s.name for s in sweep[betas[0]] if s.role == role]
        for name in names:
            ys = [next(s.mean_reward for s in sweep[b] if s.name == name) for b in betas]
            ax.plot(betas, ys, marker="o", label=name)
        ax.set_title(f"{role} nodes: average reward vs beta")
        ax.set_xlabel("beta")
        ax.set_ylabel("average normalised reward")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_comparison(path: Path, stats: Sequence[NodeStats]) -> None:
    """The paper's comparison: quality (agreement) against cost, marker area by average reward."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, role, label in zip(axes, (INFERENCE, "evaluator"), ("consensus quality", "agreement"), strict=True):
        for s in (s for s in stats if s.role == role):
            ax.scatter(s.mean_cost, s.mean_score, s=40 + 1500 * max(s.mean_reward, 0.0), alpha=0.6)
            ax.annotate(f"{s.name}\n{s.mean_reward:.3f}", (s.mean_cost, s.mean_score), fontsize=8,
                        ha="center", va="center")
        ax.set_title(f"{role} nodes: {label} vs cost (area = average reward)")
        ax.set_xlabel("mean normalised cost")
        ax.set_ylabel(label)
        ax.margins(0.2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
