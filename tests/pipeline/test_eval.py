"""``poq eval`` end to end on real packaged weights: tables, plots, and resumption after an interrupt."""

from __future__ import annotations

import csv
import json

import pytest

from oracle.pipeline.eval_run import (
    PROBES,
    RECORDS,
    EvalConfig,
    EvalProgress,
    load_records,
    load_run_tasks,
    run_eval,
    shard_slice,
)
from oracle.pipeline.probes import PROBE_NAMES, PROBES_VERSION
from oracle.pipeline.records import read_probes
from poq.main import main

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m"
CHEAP = ["token_f1", "rouge_l", "minilm-onnx"]
# One llama.cpp thread: on a shared 2-core machine two threads wait on each other and run 5x slower.
THREADS = 1


def test_poq_eval_writes_every_table_and_plot(tmp_path):
    out = tmp_path / "run"
    rc = main(["eval", "--limit", "2", "--models", MODEL, "--evaluators", ",".join(CHEAP), "--out", str(out),
               "--threads", str(THREADS), "--sweep", "1,4"])
    assert rc == 0
    records = load_records(out)
    assert [(r.task_id, r.model) for r in records] == [("qa-lighthouse", MODEL), ("qa-bakery", MODEL)]
    for r in records:
        assert set(r.scores) == set(CHEAP) and set(r.evaluator_costs) == set(CHEAP)
        assert all(0.0 <= s <= 1.0 for s in r.scores.values())
        assert r.latency_ms > 0 and r.output_tokens > 0 and r.peak_memory_mb > 0 and r.template == "qa-v1"
    for name in ("correlations.md", "quality_cost.md", "evaluator_cost.md"):
        assert (out / name).read_text().count("|") > 10, name
    with open(out / "quality_cost.csv") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["model"] == MODEL and row["n"] == "2"
    with open(out / "correlations.csv") as fh:
        assert {r["evaluator"] for r in csv.DictReader(fh)} == set(CHEAP)
    with open(out / "evaluator_cost.csv") as fh:
        assert {r["evaluator"] for r in csv.DictReader(fh)} == set(CHEAP)
    with open(out / "batch_sweep.csv") as fh:  # only the embedding evaluator is swept
        sweep = list(csv.DictReader(fh))
    assert [(r["evaluator"], r["batch size"]) for r in sweep] == [("minilm-onnx", "1"), ("minilm-onnx", "4")]
    assert all(float(r["texts/s"]) > 0 for r in sweep)
    params = json.loads((out / "suggested_params.json").read_text())
    assert params["inference_cost"]["ref_latency_ms"] >= 1
    for png in ("quality_vs_latency.png", "correlation_matrix.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _StopAfter(EvalProgress):
    """Interrupts the run like Ctrl-C once ``chunks`` chunks are saved."""

    def __init__(self, chunks: int):
        self.left = chunks

    def chunk_done(self, records):
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


def test_interrupted_run_resumes_without_duplicates(tmp_path):
    def config(out):
        return EvalConfig(out=out, limit=3, models=[MODEL], evaluators=["token_f1", "minilm-onnx"], chunk_size=1,
                          threads=THREADS)

    resumed = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        run_eval(config(resumed), _StopAfter(1))
    lines = (resumed / RECORDS).read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["task_id"] == "qa-lighthouse"  # whole lines only
    run_eval(config(resumed))
    run_eval(config(resumed))  # a finished run has nothing left to do
    straight = tmp_path / "straight"
    run_eval(config(straight))
    a, b = load_records(resumed), load_records(straight)
    assert [(r.task_id, r.model) for r in a] == [(r.task_id, r.model) for r in b]
    assert len({(r.task_id, r.model) for r in a}) == 3
    assert [r.output for r in a] == [r.output for r in b]  # greedy decoding: the same answers
    assert [r.scores["token_f1"] for r in a] == [r.scores["token_f1"] for r in b]
    assert [r.scores["minilm-onnx"] for r in a] == pytest.approx([r.scores["minilm-onnx"] for r in b], abs=1e-5)


def test_resume_that_drops_an_evaluator_is_refused(tmp_path):
    run_eval(EvalConfig(out=tmp_path, limit=1, models=[MODEL], evaluators=["token_f1"], threads=THREADS))
    with pytest.raises(ValueError, match=r"drops \['token_f1'\]: rerun with those --evaluators"):
        run_eval(EvalConfig(out=tmp_path, limit=1, models=[MODEL], evaluators=["rouge_l"], threads=THREADS))


def test_an_added_evaluator_and_model_fill_the_recorded_run_without_regenerating(tmp_path, monkeypatch):
    import oracle.pipeline.eval_run as eval_run

    run_eval(EvalConfig(out=tmp_path, limit=2, models=[MODEL], evaluators=["token_f1"], threads=THREADS))
    before = {(r.task_id, r.model): r for r in load_records(tmp_path)}
    # Any model call for a recorded pair would be a regeneration: only the new model may generate.
    generated = []
    real = eval_run._generate

    def spy(model, tasks, config, progress):
        generated.append((model, [t.id for t in tasks]))
        return real(model, tasks, config, progress)

    monkeypatch.setattr(eval_run, "_generate", spy)
    run_eval(EvalConfig(out=tmp_path, limit=2, models=[MODEL, "gemma3-270m"],
                        evaluators=["token_f1", "minilm-onnx"], threads=THREADS))
    assert generated == [("gemma3-270m", ["qa-lighthouse", "qa-bakery"])]
    after = {(r.task_id, r.model): r for r in load_records(tmp_path)}
    assert len(after) == 4 and list(after)[:2] == list(before)  # old records keep their place
    for key, old in before.items():
        new = after[key]
        assert (new.output, new.latency_ms, new.scores["token_f1"]) == (old.output, old.latency_ms,
                                                                         old.scores["token_f1"])
        assert set(new.scores) == set(new.evaluator_costs) == {"token_f1", "minilm-onnx"}
    for r in after.values():
        assert set(r.scores) == {"token_f1", "minilm-onnx"}
    probes = list(read_probes(tmp_path / PROBES))
    assert all(set(p.scores) == {"token_f1", "minilm-onnx"} for p in probes)


def test_probes_are_recorded_for_every_task_and_score_what_they_say(tmp_path):
    # No model: a probe needs none, and every built-in task (QA and summaries) is covered in seconds.
    config = EvalConfig(out=tmp_path, sources=["builtin"], models=[], evaluators=["token_f1", "rouge_l"])
    run_eval(config)
    tasks = load_run_tasks(config)
    probes = {(p.task_id, p.probe): p for p in read_probes(tmp_path / PROBES)}
    expected = {(t.id, name) for t in tasks for name in PROBE_NAMES if name != "question" or t.kind == "qa"}
    assert set(probes) == expected
    assert all(p.version == PROBES_VERSION and set(p.evaluator_costs) == {"token_f1", "rouge_l"}
               for p in probes.values())
    # A non-answer shares no token with a gold answer; the question or the lead sentence may.
    assert all(p.scores["token_f1"] == 0.0 for (_, name), p in probes.items() if name == "idk")
    assert probes[("qa-lighthouse", "idk")].output_tokens == 3
    # Probes of another version are recorded again, at this version.
    (tmp_path / PROBES).write_text((tmp_path / PROBES).read_text().replace(PROBES_VERSION, "probes-v0"))
    run_eval(config)
    again = {(p.task_id, p.probe): p for p in read_probes(tmp_path / PROBES)}
    assert set(again) == expected and all(p.version == PROBES_VERSION for p in again.values())


def test_bad_evaluator_name_fails_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="unknown evaluator 'rouge'.*rouge_l"):
        run_eval(EvalConfig(out=tmp_path, limit=1, models=[MODEL], evaluators=["rouge"], threads=THREADS))
    assert not (tmp_path / RECORDS).exists()


def test_shards_cover_every_task_exactly_once(tmp_path):
    for count in range(12):
        for n in range(1, 6):
            parts = [list(range(count))[shard_slice(count, k, n)] for k in range(1, n + 1)]
            assert sum(parts, []) == list(range(count)), (count, n)
            assert max(map(len, parts)) - min(map(len, parts)) <= 1
    everything = [t.id for t in load_run_tasks(EvalConfig(out=tmp_path))]
    halves = [[t.id for t in load_run_tasks(EvalConfig(out=tmp_path, shard=(k, 2)))] for k in (1, 2)]
    assert halves[0] + halves[1] == everything and halves[0] and halves[1]


@pytest.mark.parametrize("shard", ["3/2", "0/2", "2", "a/b"])
def test_bad_shard_names_the_value_and_the_form(tmp_path, capsys, shard):
    with pytest.raises(SystemExit):
        main(["eval", "--shard", shard, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert f"--shard {shard!r}: expected K/N with 1 <= K <= N" in err
    assert not (tmp_path / RECORDS).exists()
