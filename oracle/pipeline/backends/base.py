"""What every inference backend returns and promises.

Decoding is greedy (temperature 0) in every backend, so the output a node commits
to can be regenerated from the record by anyone with the same model file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from oracle.pipeline.prompts import Prompt


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    output_tokens: int
    latency_ms: float  # wall time of the generate call (client-side for a remote server)
    peak_memory_mb: float  # peak RSS (CPU) or CUDA allocator peak; 0.0 where not observable (remote)


@runtime_checkable
class Backend(Protocol):
    name: str

    def generate(self, prompt: Prompt, max_new_tokens: int = 64) -> Generation: ...

    def close(self) -> None: ...


class BackendError(RuntimeError):
    """A model that cannot be loaded or a generation that failed, with what to do about it."""


def accepts_system_role(format_messages: Callable[[list[dict[str, str]]], object]) -> bool:
    """Whether a chat template renders a system message; some (Gemma's) raise on one instead."""
    import jinja2

    try:
        format_messages([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    except (jinja2.TemplateError, ValueError):  # the template's raise_exception(), per library
        return False
    return True
