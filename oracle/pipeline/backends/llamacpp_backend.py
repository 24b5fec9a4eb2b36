"""GGUF models in-process through llama-cpp-python: the packaged models' default backend.

Loads in under a second and runs 35-90 tok/s on two CPU cores; with a CUDA build
of llama.cpp every layer goes to the GPU without a flag.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, cast

from oracle.pipeline.backends.base import BackendError, Generation, accepts_system_role
from oracle.pipeline.cost import measure
from oracle.pipeline.prompts import Prompt

if TYPE_CHECKING:
    from llama_cpp.llama_types import CreateCompletionResponse

DEFAULT_N_CTX = 4096  # room for a CNN/DailyMail article; llama-cpp-python's own default is 512


def gpu_layers() -> int:
    """-1 (all layers on the GPU) when this llama.cpp build can offload, else 0."""
    import llama_cpp

    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


class Placement(TypedDict):
    """``Llama``'s keyword arguments for where a model runs (see ``placement``)."""

    n_threads: int
    n_threads_batch: int
    n_gpu_layers: int


def placement(threads: int | None = None, n_gpu_layers: int | None = None) -> Placement:
    """``Llama`` keyword arguments that put a model on the GPU if there is one and cap its CPU threads.

    ``n_threads_batch`` (prompt processing) must be capped with ``n_threads``: llama-cpp-python
    defaults it to every core, and on a 2-core box two "1-thread" processes then run more spinning
    threads than there are cores (``benchmarks/llama_threads.py``: 1.2-1.5x slower on a quiet
    machine, several times slower while other jobs load it).
    """
    n = threads or len(os.sched_getaffinity(0))
    return {"n_threads": n, "n_threads_batch": n,
            "n_gpu_layers": gpu_layers() if n_gpu_layers is None else n_gpu_layers}


def token_text(llm, token: int) -> str:
    """A special token's text ("" for none), as a chat template spells it."""
    return llm.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""


def chat_formatter(llm):
    """The formatter llama-cpp-python builds from the GGUF's chat template, or None without one.

    Its OpenAI-compatible server builds the same one, so a prompt rendered here and one sent
    through that server match token for token.
    """
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    return Jinja2ChatFormatter(template=template, eos_token=token_text(llm, llm.token_eos()),
                               bos_token=token_text(llm, llm.token_bos()), stop_token_ids=[llm.token_eos()])


class LlamaCppBackend:
    """One GGUF file; chat models get their own chat template, base models a plain completion."""

    def __init__(self, path: str | Path, name: str | None = None, *, chat: bool | None = None,
                 n_ctx: int = DEFAULT_N_CTX, n_gpu_layers: int | None = None, n_threads: int | None = None,
                 seed: int = 0) -> None:
        from llama_cpp import Llama

        self.path = Path(path)
        self.name = name or self.path.stem
        if not self.path.is_file():
            raise BackendError(f"GGUF file {self.path} does not exist; pass an existing .gguf path "
                               "or a registered short name (see oracle.pipeline.models.REGISTRY)")
        try:
            self.llm = Llama(model_path=str(self.path), n_ctx=n_ctx, seed=seed, verbose=False,
                             **placement(n_threads, n_gpu_layers))
        except ValueError as exc:  # llama.cpp reports any unreadable model as "Failed to load model"
            raise BackendError(f"llama.cpp could not load {self.path} ({exc}): is it a complete GGUF "
                               "file? A truncated or corrupted copy fails like this; re-create it") from exc
        # llama.cpp may round the context up, but llama-cpp-python's token buffer keeps the size asked for
        self.n_ctx = min(self.llm.n_ctx(), self.llm.context_params.n_ctx)
        formatter = chat_formatter(self.llm)
        if chat and formatter is None:
            raise BackendError(f"{self.path.name} has no chat template in its GGUF metadata; "
                               "load it with chat=False (plain completion)")
        self.chat = formatter is not None if chat is None else chat
        self._formatter = formatter if self.chat else None
        active = self._formatter
        self.system_role = active is not None and accepts_system_role(lambda messages: active(messages=messages))

    def _tokens(self, prompt: Prompt) -> tuple[list[int], list[str]]:
        """The prompt's tokens and stop strings: chat template for chat models, plain text otherwise."""
        if self._formatter is not None:
            formatted = self._formatter(messages=prompt.messages(self.system_role))
            stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
            return self.llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special,
                                     special=True), stop
        # special=False: a task's text must not be able to inject control tokens
        return self.llm.tokenize(prompt.plain_text().encode("utf-8"), add_bos=True, special=False), list(prompt.stop)

    def generate(self, prompt: Prompt, max_new_tokens: int = 64) -> Generation:
        tokens, stop = self._tokens(prompt)
        if len(tokens) + max_new_tokens > self.n_ctx:
            raise BackendError(f"{self.name}: the prompt ({len(tokens)} tokens) plus {max_new_tokens} new tokens "
                               f"exceed the context window; load the model with a larger n_ctx (now "
                               f"{self.n_ctx}), e.g. load_model({self.name!r}, n_ctx=8192)")
        # Start every prompt from an empty KV cache: the output must not depend on which
        # prompt came before, or a record could not be reproduced on its own.
        self.llm.reset()
        with measure() as m:
            # stream=False (the default): one response, never the stream's iterator
            response = cast("CreateCompletionResponse",
                            self.llm.create_completion(tokens, max_tokens=max_new_tokens, temperature=0.0,
                                                       stop=stop or None))
        usage = response["usage"]
        return Generation(text=response["choices"][0]["text"].strip(), prompt_tokens=usage["prompt_tokens"],
                          output_tokens=usage["completion_tokens"], latency_ms=m.latency_ms,
                          peak_memory_mb=m.peak_memory_mb)

    def close(self) -> None:
        self.llm.close()
