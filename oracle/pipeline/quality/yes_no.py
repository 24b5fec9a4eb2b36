"""P("Yes") from a local instruct GGUF model: the core of ``qwen-cross`` and ``judge``.

The model reads a chat prompt that ends in a yes/no question; the score is
``P(Yes) / (P(Yes) + P(No))`` over the first answer token, from the logits of
one forward pass. No text is generated or parsed, and a 1-10 scale is never
used (its digits tokenise ambiguously: "1" starts "10").

Prompts for one task share a long prefix (the instructions, the source, the
question); only the answer under test differs at the end. The scorer keeps the
llama.cpp KV cache of the previous prompt and evaluates only the tokens after
the common prefix, so scoring a round's outputs costs the source once.
"""

from __future__ import annotations

import ctypes
import math
from pathlib import Path

import numpy as np

from oracle.pipeline.backends.llamacpp_backend import chat_formatter, placement

# Surface forms of the answer's first token; each variant's probability counts.
YES = ("Yes", "yes", "YES", " Yes", " yes")
NO = ("No", "no", "NO", " No", " no")


class YesNoScorer:
    """Holds one llama.cpp model and turns chat prompts into P(Yes)."""

    def __init__(self, gguf_path: Path, n_ctx: int = 4096, threads: int | None = None):
        from llama_cpp import Llama

        self.path = Path(gguf_path)
        self.llm = Llama(model_path=str(self.path), n_ctx=n_ctx, logits_all=False, verbose=False,
                         **placement(threads))
        self.formatter = chat_formatter(self.llm)
        if self.formatter is None:
            raise ValueError(f"{self.path.name} has no chat template: a yes/no scorer needs an instruct model")
        self.yes_ids = self._first_token_ids(YES)
        self.no_ids = self._first_token_ids(NO)

    def _first_token_ids(self, words: tuple[str, ...]) -> list[int]:
        return sorted({self.llm.tokenize(w.encode(), add_bos=False, special=False)[0] for w in words})

    def tokens(self, system: str, user: str) -> list[int]:
        """The chat prompt's tokens, ending where the assistant's answer begins."""
        prompt = self.formatter(messages=[{"role": "system", "content": system},
                                          {"role": "user", "content": user}]).prompt
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def fitted_tokens(self, system: str, head: str, source: str, tail: str) -> list[int]:
        """Tokens of the prompt ``head + source + tail``, the source shortened to fit the context window.

        The tail holds the question and the answer under test, which are never cut.
        """
        budget = self.llm.n_ctx() - 8
        tokens = self.tokens(system, head + source + tail)
        while len(tokens) > budget and source:
            keep = max(0, int(len(source) * budget / len(tokens)) - 200)
            source = source[:keep] + " ..." if keep else ""
            tokens = self.tokens(system, head + source + tail)
        return tokens

    def prob_yes(self, tokens: list[int]) -> float:
        """P(Yes) / (P(Yes) + P(No)) for the next token after ``tokens``, reusing the cached prefix."""
        llm = self.llm
        cached = llm.input_ids[: llm.n_tokens]
        common = 0
        for a, b in zip(cached, tokens, strict=False):  # a common prefix of two lengths
            if a != b:
                break
            common += 1
        # At least one token must be evaluated to get fresh logits at the end.
        llm.n_tokens = min(common, len(tokens) - 1)
        llm.eval(tokens[llm.n_tokens:])
        import llama_cpp

        ptr = ctypes.cast(llama_cpp.llama_get_logits_ith(llm.ctx, -1), ctypes.POINTER(ctypes.c_float))
        logits = np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),)).astype(np.float64)
        top = logits.max()
        yes = sum(math.exp(logits[i] - top) for i in self.yes_ids)
        no = sum(math.exp(logits[i] - top) for i in self.no_ids)
        return yes / (yes + no)

    def close(self) -> None:
        self.llm.close()
