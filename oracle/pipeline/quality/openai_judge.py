"""LLM judge over any OpenAI-compatible chat endpoint (the paper's gpt-4o-mini).

Name: ``judge:openai:<base_url>#<model>``, e.g.
``judge:openai:https://api.openai.com/v1#gpt-4o-mini`` or a local vLLM /
llama.cpp server. The key comes from ``OPENAI_API_KEY`` (optional for local
servers). The prompt is the local judge's (question + reference + candidate, see
``oracle.pipeline.quality.lm_evaluators``). The score is P(Yes) / (P(Yes) + P(No)) from the
first token's ``top_logprobs``; a server that returns no log-probabilities gives
1.0 for an answer starting "Yes" and 0.0 otherwise.
"""

from __future__ import annotations

import json
import math
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING

from oracle.pipeline.quality.base import require_reference
from oracle.pipeline.quality.lm_evaluators import judge_prompt
from oracle.pipeline.quality.yes_no import NO, YES

if TYPE_CHECKING:
    from oracle.protocol.task import Task

PREFIX = "judge:openai:"


def parse_name(name: str) -> tuple[str, str]:
    """``judge:openai:<base_url>#<model>`` -> (base_url, model)."""
    spec = name[len(PREFIX):]
    base_url, _, model = spec.rpartition("#")
    if not base_url or not model:
        raise ValueError(f"bad judge name {name!r}: write judge:openai:<base_url>#<model>, "
                         "e.g. judge:openai:https://api.openai.com/v1#gpt-4o-mini")
    return base_url.rstrip("/"), model


def yes_probability(choice: dict) -> float:
    """P(Yes) from a chat completion choice: log-probabilities when present, else the text."""
    content = ((choice.get("logprobs") or {}).get("content") or [])
    if content:
        top = content[0].get("top_logprobs") or [content[0]]
        yes = sum(math.exp(t["logprob"]) for t in top if t["token"] in YES)
        no = sum(math.exp(t["logprob"]) for t in top if t["token"] in NO)
        if yes + no > 0:
            return yes / (yes + no)
    text = (choice.get("message") or {}).get("content") or ""
    return 1.0 if text.strip().lower().startswith("yes") else 0.0


class OpenAIJudgeEvaluator:
    """Asks a chat endpoint the judge's yes/no question, one request per output."""

    needs_reference = True

    def __init__(self, name: str, timeout_s: float = 60.0):
        self.name = name
        self.base_url, self.model = parse_name(name)
        self.timeout_s = timeout_s
        self.api_key = os.environ.get("OPENAI_API_KEY", "")
        self.usage_tokens = 0  # prompt + completion tokens the server reported

    def _ask(self, system: str, user: str) -> dict:
        body = {"model": self.model, "temperature": 0, "max_tokens": 1, "logprobs": True, "top_logprobs": 20,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(f"{self.base_url}/chat/completions", data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"judge endpoint {self.base_url} answered {exc.code}: "
                               f"{exc.read()[:300]!r}; check the model name and OPENAI_API_KEY") from exc
        except urllib.error.URLError as exc:
            raise RuntimeError(f"judge endpoint {self.base_url} unreachable ({exc.reason}); "
                               "check the base URL (it ends in /v1)") from exc

    def score(self, task: Task, outputs: Sequence[str]) -> list[float]:
        require_reference(self, task)
        self.usage_tokens = 0  # this call's usage only: a score() outside scored() (a warm-up) must not leak
        scores = []
        for o in outputs:
            reply = self._ask(*judge_prompt(task, o))
            usage = reply.get("usage") or {}
            self.usage_tokens += int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
            scores.append(yes_probability(reply["choices"][0]))
        return scores

    def count_tokens(self, task: Task, outputs: Sequence[str]) -> int:
        """What the server reported for the last ``score`` call (no local tokenizer for a remote model)."""
        return self.usage_tokens

    def close(self) -> None:
        pass
