"""Evaluator throughput through the pipeline vs the same model called raw, and a batch-size sweep.

For each embedding evaluator (minilm-bi: sentence-transformers; minilm-onnx:
onnxruntime) and each batch size b, in the same process:

- pipeline: ``oracle.pipeline.quality.scored(evaluator, task, outputs)`` on rounds of b
  texts (b - 1 outputs + the reference), i.e. measurement, scoring, clipping
  and the token count the node attests;
- raw: the same model's own call on the same b texts at batch size b
  (``SentenceTransformer.encode`` / the ONNX session with its tokenizer).

Texts per second are medians over --repeats runs; the pipeline must keep at
least 90% of raw. Usage:

    .venv/bin/python benchmarks/evaluator_throughput.py [--texts 256] [--repeats 5] [--batch-sizes 2,8,32,64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from oracle.pipeline.quality import load_evaluator, scored  # noqa: E402
from oracle.pipeline.quality.bi_encoder import MINILM_MAX_TOKENS  # noqa: E402
from oracle.pipeline.tasks import builtin_tasks
from oracle.protocol.task import Task  # noqa: E402


def text_pool(n: int) -> list[str]:
    """Sentences of the built-in tasks' contexts and references, cycled to ``n`` texts."""
    sentences = []
    for t in builtin_tasks():
        sentences.extend(s.strip() + "." for s in t.context.split(". ") if s.strip())
        sentences.extend(t.references)
    return [sentences[i % len(sentences)] for i in range(n)]


def raw_call(evaluator):
    """The model's own batched call, bypassing the evaluator's scoring code."""
    if evaluator.name == "minilm-bi":
        model = evaluator.model
        return lambda texts, b: model.encode(texts, batch_size=b, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False)
    session, tok = evaluator.session, evaluator.tokenizer
    names = {i.name for i in session.get_inputs()}

    def onnx_raw(texts, b):
        outs = []
        for s in range(0, len(texts), b):
            enc = tok(texts[s:s + b], padding=True, truncation=True, max_length=MINILM_MAX_TOKENS, return_tensors="np")
            feed = {k: v.astype(np.int64) for k, v in enc.items() if k in names}
            hidden = session.run(["last_hidden_state"], feed)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            outs.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(outs)
    return onnx_raw


def rounds(texts: list[str], b: int) -> list[tuple[Task, list[str]]]:
    """Rounds of b texts each: the first is the reference, the rest are outputs."""
    out = []
    for s in range(0, len(texts) - b + 1, b):
        chunk = texts[s:s + b]
        task = Task(id=f"bench-{s}", kind="summarization", source="bench", context="", question=None,
                    references=(chunk[0],))
        out.append((task, chunk[1:]))
    return out


def median_rate(fn, n_texts: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return n_texts / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-sizes", default="2,8,32,64")
    ap.add_argument("--evaluators", default="minilm-bi,minilm-onnx")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.batch_sizes.split(",")]
    texts = text_pool(args.texts)
    print(f"{len(texts)} texts, {args.repeats} repeats, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| evaluator | batch | raw texts/s | pipeline texts/s | pipeline / raw |")
    print("|---|---|---|---|---|")
    worst = 1.0
    for name in args.evaluators.split(","):
        evaluator = load_evaluator(name)
        raw = raw_call(evaluator)
        for b in sizes:
            evaluator.batch_size = b
            rs = rounds(texts, b)
            n = sum(1 + len(outs) for _, outs in rs)
            raw(texts[:b], b)  # warm-up at this batch size
            # Interleave raw and pipeline repeats so a change in machine load hits both alike.
            raw_rates, pipe_rates = [], []
            for _ in range(args.repeats):
                raw_rates.append(median_rate(lambda rs=rs, b=b, raw=raw: [raw([t.references[0], *o], b) for t, o in rs],
                                             n, 1))
                pipe_rates.append(median_rate(lambda rs=rs, ev=evaluator: [scored(ev, t, o) for t, o in rs], n, 1))
            r, p = statistics.median(raw_rates), statistics.median(pipe_rates)
            worst = min(worst, p / r)
            print(f"| {name} | {b} | {r:,.0f} | {p:,.0f} | {p / r:.0%} |")
        evaluator.close()
    print(f"worst pipeline / raw: {worst:.0%} (target >= 90%)")
    return 0 if worst >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
