"""Hugging Face checkpoints through transformers: the paper's five models, local folders, or GGUF.

Hub ids need a connection (or a filled local cache). Offline, a missing model fails at
once with a message, instead of transformers retrying the hub for tens of seconds.
GGUF files load with ``gguf_file=`` (dequantised to float32: 30-60 s on two cores).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import urlparse

from oracle.pipeline.backends.base import BackendError, Generation, accepts_system_role
from oracle.pipeline.cost import measure
from oracle.pipeline.prompts import Prompt

if TYPE_CHECKING:
    from transformers import BatchEncoding

    # what AutoModelForCausalLM.from_pretrained is annotated to return (a PreTrainedModel with generate)
    from transformers.models.auto.modeling_auto import _BaseModelWithGenerate as CausalLM

_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face endpoint answers a TCP connection (through a proxy: assume yes)."""
    if any(os.environ.get(v) == "1" for v in _OFFLINE_VARS):
        return False
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


class TransformersBackend:
    """A causal LM from a hub id or a local folder (optionally one GGUF file in it), greedy decoding."""

    def __init__(self, source: str | Path, name: str | None = None, *, gguf_file: str | None = None,
                 chat: bool | None = None, device: str | None = None, dtype: str | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = name or str(source)
        local = Path(source).is_dir()
        local_only = not local and not _hub_reachable()
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = getattr(torch, dtype) if dtype else (torch.bfloat16 if self.device == "cuda" else torch.float32)
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=local_only, **kwargs)
            self.model: CausalLM | None = AutoModelForCausalLM.from_pretrained(
                str(source), local_files_only=local_only, dtype=torch_dtype, **kwargs)
        except OSError as exc:
            if local:
                raise BackendError(f"{source} is not a loadable transformers model folder ({exc})") from exc
            why = "offline: HF_HUB_OFFLINE=1 or no route to the hub" if local_only else str(exc)
            raise BackendError(
                f"model {source!r} is not in the local Hugging Face cache and the hub cannot be reached "
                f"({why}). Download it on a connected machine (`huggingface-cli download {source}`), pass "
                "a local folder, or use a packaged offline model such as smollm2-135m, gemma3-270m or "
                "qwen2.5-0.5b") from exc
        # transformers wraps ``to`` in functools.wraps(nn.Module.to): its type wants the model as argument 1
        self.model.to(self.device).eval()  # type: ignore[arg-type]
        has_template = bool(self.tokenizer.chat_template)
        if chat and not has_template:
            raise BackendError(f"{source} has no chat template; load it with chat=False (plain completion)")
        self.chat = has_template if chat is None else chat
        eos = self.model.generation_config.eos_token_id
        self._eos_ids = {self.tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])} - {None}
        self.system_role = self.chat and accepts_system_role(
            lambda messages: self.tokenizer.apply_chat_template(messages, tokenize=False))

    def _input_ids(self, prompt: Prompt):
        if self.chat:
            # return_dict=True: a BatchEncoding (transformers annotates every return type at once)
            encoded = cast("BatchEncoding", self.tokenizer.apply_chat_template(
                prompt.messages(self.system_role), add_generation_prompt=True, return_tensors="pt", return_dict=True))
            return encoded["input_ids"]
        return self.tokenizer(prompt.plain_text(), return_tensors="pt")["input_ids"]

    def generate(self, prompt: Prompt, max_new_tokens: int = 64) -> Generation:
        import torch
        from transformers import StoppingCriteriaList

        model = self.model
        if model is None:
            raise BackendError(f"{self.name} is closed: load the model again to generate")

        input_ids = self._input_ids(prompt).to(self.device)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        stop = StoppingCriteriaList(
            [] if self.chat or not prompt.stop else [_StopOnText(self.tokenizer, input_ids.shape[1], prompt.stop)])
        with measure() as m, torch.inference_mode():
            # generate's self type is a Protocol for the ty checker that mypy does not match to the model class
            output = model.generate(input_ids, attention_mask=torch.ones_like(input_ids),  # type: ignore[misc]
                                    max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                                    stopping_criteria=stop)
        new_tokens = output[0, input_ids.shape[1]:]
        if len(new_tokens) and int(new_tokens[-1]) in self._eos_ids:
            new_tokens = new_tokens[:-1]  # the end-of-turn token is not output (llama.cpp does not count it)
        text = cast(str, self.tokenizer.decode(new_tokens, skip_special_tokens=True))  # one sequence: one string
        if not self.chat:
            text = _cut_at_stop(text, prompt.stop)
        return Generation(text=text.strip(), prompt_tokens=int(input_ids.shape[1]),
                          output_tokens=int(new_tokens.shape[0]), latency_ms=m.latency_ms,
                          peak_memory_mb=m.peak_memory_mb)

    def close(self) -> None:
        self.model = None  # drop the weights; the backend cannot generate after this
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


class _StopOnText:
    """Stop once the decoded new text holds a stop string (works for any tokenizer, unlike
    transformers' ``stop_strings``, which needs a byte-level or sentencepiece vocabulary)."""

    def __init__(self, tokenizer, start: int, stop: tuple[str, ...]) -> None:
        self.tokenizer, self.start, self.stop = tokenizer, start, stop

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        done = [any(s in self.tokenizer.decode(row[self.start:], skip_special_tokens=True) for s in self.stop)
                for row in input_ids]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """A plain completion ends at the first stop string, as llama.cpp's ``stop=`` does."""
    ends = [i for s in stop if (i := text.find(s)) >= 0]
    return text[: min(ends)] if ends else text
