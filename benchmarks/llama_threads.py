"""Two "one-thread" llama.cpp processes side by side, with and without the prompt-thread cap.

``oracle.pipeline.backends.llamacpp_backend.placement`` caps both of llama.cpp's thread
pools; llama-cpp-python alone caps only ``n_threads`` (generation) and leaves
``n_threads_batch`` (prompt processing) at every core. On a 2-core machine two
such processes then run more spinning threads than there are cores. This
benchmark starts two worker processes at once, each loading a packaged model
with ``n_threads=1`` and generating a summary of the same built-in article
``--repeats`` times, once with ``n_threads_batch`` left to llama-cpp-python
(uncapped) and once capped to 1 (as ``placement(1)`` does), and prints each
setting's median seconds per summary and their ratio, measured in the same run.

    .venv/bin/python benchmarks/llama_threads.py [--model smollm2-135m] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time


def _worker(model: str, cap: bool, repeats: int, start, out) -> None:
    from oracle.pipeline.backends import llamacpp_backend
    from oracle.pipeline.models import model_path
    from oracle.pipeline.prompts import render
    from oracle.pipeline.tasks import builtin_tasks

    if not cap:  # this worker process only: what llama-cpp-python does when only n_threads is given
        llamacpp_backend.placement = lambda threads=None, n_gpu_layers=None: {"n_threads": 1, "n_gpu_layers": 0}
    backend = llamacpp_backend.LlamaCppBackend(model_path(model), model, n_threads=1, n_gpu_layers=0)
    article = next(t for t in builtin_tasks() if t.kind == "summarization")
    prompt = render(article)
    backend.generate(prompt, 1)  # warm-up
    start.wait()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        backend.generate(prompt, 96)
        times.append(time.perf_counter() - t0)
    out.put(times)


def side_by_side(model: str, cap: bool, repeats: int) -> list[float]:
    """Seconds per summary of both processes, started together."""
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(model, cap, repeats, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    times = out.get() + out.get()
    for p in procs:
        p.join()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    uncapped = side_by_side(args.model, cap=False, repeats=args.repeats)
    capped = side_by_side(args.model, cap=True, repeats=args.repeats)
    result = {
        "model": args.model,
        "processes": 2,
        "uncapped_s": [round(t, 2) for t in uncapped],
        "capped_s": [round(t, 2) for t in capped],
        "uncapped_median_s": round(statistics.median(uncapped), 2),
        "capped_median_s": round(statistics.median(capped), 2),
        "uncapped_over_capped": round(statistics.median(uncapped) / statistics.median(capped), 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
