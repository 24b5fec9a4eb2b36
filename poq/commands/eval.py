"""``poq eval``: run tasks x models x evaluators and write the profile the Monte Carlo engine reads.

Writes to --out: records.jsonl (one record per task x model: output, its cost,
every evaluator's score and cost), correlations.csv/.md, quality_cost.csv/.md,
evaluator_cost.csv/.md, suggested_params.json, quality_vs_latency.png and
correlation_matrix.png (and batch_sweep.csv/.md with --sweep). Rerunning with the
same --out resumes: (task, model) pairs already recorded are skipped.

To spread one run over N processes or machines, give each --shard K/N and its own
--out, concatenate their records.jsonl into one folder, and run the same command
there without --shard: every pair is found recorded and only the tables are written.

With no arguments: the built-in tasks, two small packaged models and cheap
offline evaluators, in a few minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from poq.options import (
    check_evaluator,
    check_model,
    csv_ints,
    existing_file,
    names,
    out_option,
    positive_int,
)

DEFAULT_OUT = Path("eval-out")
SOURCES = ("builtin", "squad", "cnn_dailymail")


def _csv(text: str | list[str]) -> list[str]:
    if isinstance(text, list):  # already parsed by its option's type
        return text
    return [x.strip() for x in text.split(",") if x.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    from oracle.pipeline.eval_run import DEFAULT_MODELS
    from oracle.pipeline.quality import DEFAULT_EVALUATORS, KNOWN

    p = sub.add_parser("eval", help="profile models and evaluators on tasks (quality, cost, correlations)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="evaluators: " + "; ".join(f"{k}: {v}" for k, v in KNOWN.items()))
    p.add_argument("--tasks", type=names(SOURCES, what="task sources"), default="builtin",
                   help="task sources, comma-separated: builtin, squad, cnn_dailymail (default builtin)")
    p.add_argument("--data", action="append", type=existing_file, default=None, metavar="PATH",
                   help="local file for each non-builtin --tasks source, in the same order (repeat the option)")
    p.add_argument("--limit", type=positive_int, default=None, help="first N tasks of each source")
    p.add_argument("--models", type=names(check=check_model, what="models"), default=",".join(DEFAULT_MODELS),
                   help=f"comma-separated model names (default {','.join(DEFAULT_MODELS)})")
    p.add_argument("--evaluators", type=names(check=check_evaluator, what="evaluators"),
                   default=",".join(DEFAULT_EVALUATORS),
                   help=f"comma-separated evaluator names (default {','.join(DEFAULT_EVALUATORS)})")
    out_option(p, DEFAULT_OUT)
    p.add_argument("--max-new-tokens", type=positive_int, default=None,
                   help="output budget per answer, 1 or more (default: 32 for QA, 96 for summaries)")
    p.add_argument("--chunk-size", type=positive_int, default=8,
                   help="tasks per chunk: records are saved after each chunk (default 8)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="evaluator batch size (default 32)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads for llama.cpp and ONNX (default: all cores; 1 is faster on a busy machine)")
    p.add_argument("--shard", type=_shard, default=None, metavar="K/N",
                   help="record only the K-th of N contiguous slices of the tasks (e.g. 2/2), into its own --out")
    p.add_argument("--sweep", type=csv_ints(low=1, example="1,8,32,64"), default=None, metavar="SIZES",
                   help="also sweep embedding evaluators over these batch sizes, e.g. 1,8,32,64")
    p.set_defaults(func=run)


def _shard(text: str) -> tuple[int, int]:
    """``K/N`` -> (K, N), with an error that shows the expected form."""
    from oracle.pipeline.eval_run import shard_slice

    try:
        k, n = (int(x) for x in text.split("/"))
        shard_slice(0, k, n)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/2 "
                                         f"({exc})") from None
    return k, n


def _data_paths(sources: list[str], data: list[Path] | None) -> list[Path | None]:
    files = [s for s in sources if s != "builtin"]
    data = data or []
    if data and len(data) != len(files):
        from oracle.errors import UsageError

        raise UsageError(f"{len(data)} --data paths for {len(files)} file sources {files}: "
                         "give one --data per squad/cnn_dailymail source, in order")
    it = iter(data)
    return [None if s == "builtin" or not data else next(it) for s in sources]


class RichProgress:
    """rich progress bars: one for the whole run, one for the current model or evaluator."""

    def __init__(self, progress):
        self.p = progress
        self.total = None
        self.current = None

    def start(self, total_pairs: int, done_pairs: int) -> None:
        self.total = self.p.add_task("task x model pairs", total=total_pairs, completed=done_pairs)

    def phase(self, label: str, total: int) -> None:
        if self.current is not None:
            self.p.remove_task(self.current)
        self.current = self.p.add_task(label, total=total)

    def advance(self) -> None:
        self.p.advance(self.current)

    def chunk_done(self, records) -> None:
        self.p.advance(self.total, len(records))


def _sweep(config, records, sizes: list[int]):
    """Batch-size sweep of the run's embedding evaluators over the run's outputs and references."""
    from oracle.pipeline.cost_profile import batch_sweep
    from oracle.pipeline.eval_run import load_run_tasks
    from oracle.pipeline.quality import is_embedding, load_evaluator

    texts = [r.output for r in records] + [ref for t in load_run_tasks(config) for ref in t.references]
    points = []
    for name in filter(is_embedding, config.evaluators):
        evaluator = load_evaluator(name, threads=config.threads)
        try:
            points.extend(batch_sweep(evaluator, texts, sizes))
        finally:
            evaluator.close()
    return points


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from oracle.pipeline.eval_report import write_report
    from oracle.pipeline.eval_run import EvalConfig, load_records, run_eval
    from poq.options import console as wide_console

    sources = _csv(args.tasks)
    config = EvalConfig(out=args.out, sources=sources, data=_data_paths(sources, args.data), limit=args.limit,
                        models=_csv(args.models), evaluators=_csv(args.evaluators),
                        max_new_tokens=args.max_new_tokens, chunk_size=args.chunk_size, batch_size=args.batch_size,
                        threads=args.threads, shard=args.shard)
    console = wide_console()
    console.print(f"[bold]poq eval[/bold]: tasks {','.join(sources)}, models {','.join(config.models)}, "
                  f"evaluators {','.join(config.evaluators)} -> {config.out}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bars:
        run_eval(config, RichProgress(bars))
    records = load_records(config.out)
    sweep = _sweep(config, records, args.sweep) if args.sweep else None
    files = write_report(records, config.out, sweep)
    console.print(f"wrote {len(files) + 1} files to {config.out}: records.jsonl, "
                  + ", ".join(f.name for f in files))
    console.print((config.out / "quality_cost.md").read_text())
    console.print((config.out / "correlations.md").read_text())
    return 0
