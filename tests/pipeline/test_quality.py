"""Quality evaluators: SQuAD's official F1, ROUGE-L, and the learned evaluators on real weights."""

from __future__ import annotations

import dataclasses
import math
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from oracle.pipeline.quality import load_evaluator, scored
from oracle.pipeline.quality.openai_judge import parse_name, yes_probability
from oracle.pipeline.quality.rouge import rouge_l, rouge_l_max
from oracle.pipeline.quality.token_f1 import exact_match, token_f1
from oracle.pipeline.tasks import builtin_tasks
from oracle.protocol.task import Task

LIGHTHOUSE = next(t for t in builtin_tasks() if t.id == "qa-lighthouse")  # gold: "Agnes Tull"
GARDEN = next(t for t in builtin_tasks() if t.id == "sum-school-garden")
RIGHT, WRONG = "Agnes Tull", "The volunteer trust"
GOOD_SUMMARY = ("Pupils at Redfield Primary School turned a car park into a vegetable garden that supplies "
                "school lunches; a greenhouse is planned for next year.")
BAD_SUMMARY = "A football club signed a new striker for the coming season."


# --------------------------------------------------------------------------- SQuAD F1, hand-worked


@pytest.mark.parametrize("prediction, golds, expected", [
    ("The Denver Broncos", ["Denver Broncos"], 1.0),  # article dropped
    ("denver broncos!", ["Denver Broncos"], 1.0),  # case and punctuation dropped
    ("Broncos", ["Denver Broncos"], 2 / 3),  # P = 1, R = 1/2
    ("the Denver Broncos team", ["Denver Broncos"], 0.8),  # P = 2/3, R = 1
    ("Panthers", ["Denver Broncos", "Carolina Panthers"], 2 / 3),  # max over golds
    ("x y x", ["x x z"], 2 / 3),  # bag of tokens with counts: common {x: 2}
    ("", ["Denver Broncos"], 0.0),  # empty prediction
    ("the", ["a"], 0.0),  # both normalise to nothing: no common token, F1 0 as in evaluate-v1.1.py
])
def test_token_f1_matches_squad_official(prediction, golds, expected):
    assert token_f1(prediction, golds) == pytest.approx(expected)


def test_exact_match_and_missing_gold():
    assert exact_match("  The  Eiffel-Tower. ", "eiffeltower") == 1.0
    assert exact_match("Eiffel Tower", "the Eiffel tower in Paris") == 0.0
    with pytest.raises(ValueError, match="no reference"):
        token_f1("anything", [])


def test_rouge_l_hand_worked():
    # LCS of "the cat sat on the mat" / "the cat lay on the mat" = 5 tokens of 6 each.
    assert rouge_l("the cat sat on the mat", "the cat lay on the mat") == pytest.approx(5 / 6)
    # Order matters (unlike F1): reversed tokens share an LCS of 1.
    assert rouge_l("c b a", "a b c") == pytest.approx(1 / 3)
    assert rouge_l("", "a b") == 0.0
    assert rouge_l_max("a b", ["x", "a b z"]) == pytest.approx(0.8)


def test_lexical_evaluators_score_batches():
    f1 = load_evaluator("token_f1")
    batch = scored(f1, LIGHTHOUSE, [RIGHT, WRONG, "Tull"])
    assert batch.scores == pytest.approx([1.0, 0.0, 2 / 3])
    assert batch.cost.tokens == (2 + 2) + (2 + 2) + (1 + 2)  # normalised output + gold tokens ("the" dropped)
    rl = load_evaluator("rouge_l")
    good, bad = rl.score(GARDEN, [GOOD_SUMMARY, BAD_SUMMARY])
    assert good > 0.3 > bad


# --------------------------------------------------------------------------- names and errors


def test_unknown_evaluator_lists_known_names():
    with pytest.raises(ValueError) as err:
        load_evaluator("minilm")
    msg = str(err.value)
    assert "'minilm'" in msg and "minilm-bi" in msg and "qwen-cross" in msg and "judge:openai:" in msg


def test_bad_openai_judge_name():
    with pytest.raises(ValueError, match="judge:openai:<base_url>#<model>"):
        load_evaluator("judge:openai:https://api.openai.com/v1")
    assert parse_name("judge:openai:http://h:1/v1/#m") == ("http://h:1/v1", "m")


def test_reference_needed_is_an_actionable_error():
    no_ref = Task(id="q", kind="qa", source="t", context="c", question="q?", references=())
    with pytest.raises(ValueError, match="needs a reference.*'q'"):
        load_evaluator("token_f1").score(no_ref, ["x"])


def test_yes_probability_from_logprobs_and_from_text():
    choice = {"logprobs": {"content": [{"token": "Yes", "logprob": math.log(0.6), "top_logprobs": [
        {"token": "Yes", "logprob": math.log(0.6)}, {"token": "No", "logprob": math.log(0.2)},
        {"token": "yes", "logprob": math.log(0.1)}, {"token": "Maybe", "logprob": math.log(0.1)}]}]}}
    assert yes_probability(choice) == pytest.approx(0.7 / 0.9)
    assert yes_probability({"message": {"content": "No."}}) == 0.0
    assert yes_probability({"message": {"content": "Yes"}}) == 1.0


# --------------------------------------------------------------------------- learned evaluators


@pytest.fixture(scope="module")
def minilm_pair():
    bi, onnx = load_evaluator("minilm-bi"), load_evaluator("minilm-onnx")
    yield bi, onnx
    bi.close()
    onnx.close()


@pytest.mark.slow
def test_bi_encoders_prefer_right_answer_and_agree(minilm_pair):
    bi, onnx = minilm_pair
    outputs = [RIGHT, WRONG, "Agnes", "It was automated in 1989.", "the keeper Agnes Tull"]
    for ev in (bi, onnx):
        right, wrong = ev.score(LIGHTHOUSE, [RIGHT, WRONG])
        assert right > wrong + 0.3, ev.name
        good, bad = ev.score(GARDEN, [GOOD_SUMMARY, BAD_SUMMARY])
        assert good > bad + 0.3, ev.name
    a, b = np.array(bi.score(LIGHTHOUSE, outputs)), np.array(onnx.score(LIGHTHOUSE, outputs))
    assert np.max(np.abs(a - b)) < 0.05  # int8 ONNX keeps the PyTorch model's scores
    assert np.corrcoef(a, b)[0, 1] > 0.98
    batch = scored(onnx, LIGHTHOUSE, outputs)
    assert batch.cost.latency_ms > 0 and batch.cost.peak_memory_mb > 0
    assert batch.cost.tokens > 2 * len(outputs)  # word pieces incl. [CLS]/[SEP], output + reference


@pytest.fixture(scope="module")
def tiny_cross_encoders(tmp_path_factory):
    """Two tiny BERT cross-encoders saved with the MiniLM tokenizer: a 1-logit reranker and a 3-way NLI head."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from oracle.pipeline.quality.bi_encoder import minilm_dir

    root = tmp_path_factory.mktemp("tiny-ce")
    tok = AutoTokenizer.from_pretrained(str(minilm_dir()))
    paths = {}
    for kind, labels in (("rerank", ["LABEL_0"]), ("nli", ["contradiction", "entailment", "neutral"])):
        cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, num_labels=len(labels), id2label=dict(enumerate(labels)),
                         label2id={lab: i for i, lab in enumerate(labels)})
        torch.manual_seed(7)
        model = BertForSequenceClassification(cfg)
        model.save_pretrained(root / kind)
        tok.save_pretrained(root / kind)
        paths[kind] = root / kind
    return paths


def _manual_logits(path, pairs):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForSequenceClassification.from_pretrained(str(path)).eval()
    enc = tok([a for a, _ in pairs], [b for _, b in pairs], padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        return model(**enc).logits.numpy().astype(np.float64)


def test_cross_encoder_loading_path_on_tiny_models(tiny_cross_encoders):
    outputs = [RIGHT, WRONG, ""]
    pairs = [(f"{LIGHTHOUSE.question} {LIGHTHOUSE.context}", o) for o in outputs]
    rerank = load_evaluator(f"ce:{tiny_cross_encoders['rerank']}")
    assert rerank.needs_reference is False and rerank.label is None
    logits = _manual_logits(tiny_cross_encoders["rerank"], pairs)[:, 0]
    assert rerank.score(LIGHTHOUSE, outputs) == pytest.approx(list(1 / (1 + np.exp(-logits))), abs=1e-5)
    nli = load_evaluator(f"ce:{tiny_cross_encoders['nli']}")
    assert nli.label == 1  # "entailment", read from the config's id2label
    logits = _manual_logits(tiny_cross_encoders["nli"], pairs)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert nli.score(LIGHTHOUSE, outputs) == pytest.approx(list(probs[:, 1]), abs=1e-5)
    assert scored(nli, LIGHTHOUSE, outputs).cost.tokens > len(LIGHTHOUSE.context.split())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["qwen-cross", "judge"])
def test_local_lm_evaluators_prefer_right_answer(name):
    ev = load_evaluator(name, threads=1)  # 2 llama.cpp threads crawl on a busy 2-core machine
    try:
        right, wrong = ev.score(LIGHTHOUSE, [RIGHT, WRONG])
        # qwen-cross rates the (plausible, on-topic) wrong answer about 0.67 and the right one 0.92.
        assert right > 0.8 and right > wrong + 0.15, (right, wrong)
        batch = scored(ev, LIGHTHOUSE, [RIGHT, WRONG])
        assert batch.cost.tokens == len(ev.prompt_tokens(LIGHTHOUSE, RIGHT)) + len(ev.prompt_tokens(LIGHTHOUSE, WRONG))
        if name == "qwen-cross":  # the cross-encoder reads the source once per output, and attests it
            assert batch.cost.tokens > 2 * len(ev.scorer.llm.tokenize(LIGHTHOUSE.context.encode(), add_bos=False))
            # A source longer than the context window is cut; the question and the answer never are.
            long = dataclasses.replace(LIGHTHOUSE, context=LIGHTHOUSE.context + " The keeper logged the weather." * 800)
            tokens = ev.prompt_tokens(long, RIGHT)
            assert ev.scorer.llm.n_ctx() - 8 - 400 < len(tokens) <= ev.scorer.llm.n_ctx() - 8
            text = ev.scorer.llm.detokenize(tokens).decode("utf-8", "replace")
            assert f"Question: {LIGHTHOUSE.question}\nProposed answer: {RIGHT}" in text[-600:]
            assert " ..." in text  # where the source was cut
    finally:
        ev.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_openai_judge_against_a_real_local_server():
    """llama-cpp-python's OpenAI-compatible server with the same qwen2.5-1.5b: logprobs give the local judge's
    P(Yes)."""
    from oracle.pipeline.models import model_path
    from oracle.pipeline.quality import JUDGE_MODEL

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model_path(JUDGE_MODEL)),
                               "--host", "127.0.0.1", "--port", str(port), "--logits_all", "true",
                               "--n_ctx", "2048", "--n_threads", "1", "--verbose", "false"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}/v1"
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "/models", timeout=1)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                time.sleep(0.5)
        remote = load_evaluator(f"judge:openai:{base}#qwen")
        right, wrong = remote.score(LIGHTHOUSE, [RIGHT, WRONG])  # like poq eval's warm-up: outside scored()
        assert right > 0.5 > wrong, (right, wrong)
        usage = remote.usage_tokens  # what the server reported for that call
        assert usage > 0
        # the attested tokens of the next batch are that batch's usage alone, not the warm-up's too
        assert scored(remote, LIGHTHOUSE, [RIGHT, WRONG]).cost.tokens == usage
    finally:
        server.terminate()
        server.wait(timeout=30)
