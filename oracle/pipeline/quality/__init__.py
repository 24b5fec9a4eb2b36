"""Quality evaluators: one interface (``Evaluator``), one way to get one (``load_evaluator``).

Names (``KNOWN``): the lexical yardsticks ``token_f1`` and ``rouge_l``; bi-encoders
``minilm-bi`` (packaged PyTorch), ``minilm-onnx`` (packaged int8 ONNX) and
``sts-distilroberta`` (paper, online); cross-encoders ``ce-minilm`` and
``ce-deberta`` (paper, online) and ``qwen-cross`` (offline, a local instruct LM
reading source + question + answer); the local LLM judge ``judge``. Any
sentence-transformers model loads as ``bi:<hf id or folder>`` or
``ce:<hf id or folder>``, and any OpenAI-compatible chat endpoint as
``judge:openai:<base_url>#<model>``.
"""

from __future__ import annotations

from oracle.pipeline.quality.base import Evaluator, Scored, scored

__all__ = ["Evaluator", "Scored", "scored", "check_name", "load_evaluator", "needs_reference", "KNOWN",
           "DEFAULT_EVALUATORS"]

# short name -> what it is (printed in errors and `poq eval --help`).
KNOWN = {
    "token_f1": "SQuAD token F1 vs the gold answers (QA)",
    "rouge_l": "ROUGE-L F-measure vs the reference (summaries)",
    "minilm-bi": "all-MiniLM-L6-v2 bi-encoder, PyTorch (packaged, offline)",
    "minilm-onnx": "all-MiniLM-L6-v2 bi-encoder, int8 ONNX (packaged, offline)",
    "sts-distilroberta": "sentence-transformers/stsb-distilroberta-base-v2 bi-encoder (paper; needs the hub)",
    "ce-minilm": "cross-encoder/ms-marco-MiniLM-L-6-v2 (paper; needs the hub)",
    "ce-deberta": "cross-encoder/nli-deberta-v3-base (paper; needs the hub)",
    "qwen-cross": "qwen2.5-1.5b reads source + question + answer: P(correct) (offline)",
    "judge": "qwen2.5-1.5b judge reads question + reference + answer: P(Yes) (offline)",
}
HF_IDS = {
    "sts-distilroberta": "sentence-transformers/stsb-distilroberta-base-v2",
    "ce-minilm": "cross-encoder/ms-marco-MiniLM-L-6-v2",
    "ce-deberta": "cross-encoder/nli-deberta-v3-base",
}
# The local LM behind qwen-cross and judge: Qwen-0.5B could not tell right from wrong.
JUDGE_MODEL = "qwen2.5-1.5b"
# Cheap and offline: what `poq eval` runs with no --evaluators.
DEFAULT_EVALUATORS = ("token_f1", "rouge_l", "minilm-bi", "minilm-onnx")


def is_embedding(name: str) -> bool:
    """True for the bi-encoders: the evaluators with a batched ``embed`` that ``--sweep`` measures."""
    return name in ("minilm-bi", "minilm-onnx", "sts-distilroberta") or name.startswith("bi:")


def needs_reference(name: str) -> bool:
    """Whether the evaluator called ``name`` grades against a reference answer (without loading it): only the
    cross-encoders read the source instead. It matches each class's ``needs_reference``."""
    return not (name in ("qwen-cross", "ce-minilm", "ce-deberta") or name.startswith("ce:"))


def _unknown(name: str) -> ValueError:
    known = ", ".join(KNOWN)
    return ValueError(f"unknown evaluator {name!r}: known names are {known}; or bi:<hf id or folder>, "
                      "ce:<hf id or folder>, judge:openai:<base_url>#<model>")


def check_name(name: str) -> None:
    """Raise the error ``load_evaluator`` would for a bad name, without loading anything."""
    if name.startswith("judge:openai:"):
        from oracle.pipeline.quality.openai_judge import parse_name
        parse_name(name)
    elif name not in KNOWN and not (name.startswith(("bi:", "ce:")) and len(name) > 3):
        raise _unknown(name)


def load_evaluator(name: str, batch_size: int = 32, threads: int | None = None) -> Evaluator:
    """Build the evaluator called ``name`` (see ``KNOWN``); unknown names raise listing the known ones.

    ``threads`` caps the CPU threads of the ONNX and llama.cpp evaluators (default: every core).
    """
    check_name(name)
    if name == "token_f1":
        from oracle.pipeline.quality.lexical import TokenF1Evaluator
        return TokenF1Evaluator()
    if name == "rouge_l":
        from oracle.pipeline.quality.lexical import RougeLEvaluator
        return RougeLEvaluator()
    if name == "minilm-bi":
        from oracle.pipeline.quality.bi_encoder import BiEncoderEvaluator, minilm_dir
        return BiEncoderEvaluator(name, str(minilm_dir()), batch_size=batch_size)
    if name == "minilm-onnx":
        from oracle.pipeline.quality.bi_encoder import OnnxMiniLMEvaluator
        return OnnxMiniLMEvaluator(name, batch_size=batch_size, threads=threads)
    if name == "sts-distilroberta" or name.startswith("bi:"):
        from oracle.pipeline.quality.bi_encoder import BiEncoderEvaluator
        return BiEncoderEvaluator(name, HF_IDS.get(name) or name[3:], batch_size=batch_size)
    if name in ("ce-minilm", "ce-deberta") or name.startswith("ce:"):
        from oracle.pipeline.quality.cross_encoder import CrossEncoderEvaluator
        return CrossEncoderEvaluator(name, HF_IDS.get(name) or name[3:], batch_size=batch_size)
    if name in ("qwen-cross", "judge"):
        from oracle.pipeline.models import model_path
        from oracle.pipeline.quality.lm_evaluators import LMCrossEvaluator, LocalJudgeEvaluator
        cls = LMCrossEvaluator if name == "qwen-cross" else LocalJudgeEvaluator
        return cls(name, model_path(JUDGE_MODEL), threads=threads)
    if name.startswith("judge:openai:"):
        from oracle.pipeline.quality.openai_judge import OpenAIJudgeEvaluator
        return OpenAIJudgeEvaluator(name)
    raise _unknown(name)
