"""Any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, hosted APIs) over HTTP.

Token counts come from the server's ``usage``; latency is measured here, around the
request, because that is what the node's requester waits. The server's memory is not
observable from the client, so ``peak_memory_mb`` is 0.0.
"""

from __future__ import annotations

import os
import time

import requests

from oracle.pipeline.backends.base import BackendError, Generation
from oracle.pipeline.cost import measure
from oracle.pipeline.prompts import Prompt

API_KEY_VARS = ("POQ_OPENAI_API_KEY", "OPENAI_API_KEY")
RETRY_STATUS = frozenset({429, 502, 503, 504})  # overloaded or still loading: worth another try


def _api_root(base_url: str) -> str:
    """``http://host:8000``, ``http://host:8000/`` and ``http://host:8000/v1`` all mean ``.../v1``."""
    root = base_url.rstrip("/")
    return root if root.endswith("/v1") else root + "/v1"


class OpenAIBackend:
    """Chat (``/v1/chat/completions``) or plain (``/v1/completions``) requests, temperature 0."""

    def __init__(self, base_url: str, model: str, name: str | None = None, *, api_key: str | None = None,
                 chat: bool = True, timeout_s: float = 120.0, retries: int = 3, backoff_s: float = 0.5,
                 seed: int = 0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise BackendError(f"OpenAI-compatible base URL must start with http:// or https://, got {base_url!r}")
        self.url = _api_root(base_url) + ("/chat/completions" if chat else "/completions")
        self.model = model
        self.name = name or f"openai:{base_url}#{model}"
        self.chat = chat
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.seed = seed
        key = api_key or next((os.environ[v] for v in API_KEY_VARS if os.environ.get(v)), None)
        self.session = requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def _body(self, prompt: Prompt, max_new_tokens: int) -> dict:
        body = {"model": self.model, "max_tokens": max_new_tokens, "temperature": 0.0, "seed": self.seed}
        if self.chat:
            return {**body, "messages": prompt.messages()}
        return {**body, "prompt": prompt.plain_text(), "stop": list(prompt.stop) or None}

    def _post(self, body: dict) -> dict:
        """POST with exponential backoff on connection errors and retryable statuses."""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self.session.post(self.url, json=body, timeout=self.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                error = f"no answer from {self.url} ({exc}); is the server running at that address?"
                continue
            if response.ok:
                try:
                    return response.json()
                except ValueError:
                    raise BackendError(f"{self.name}: {self.url} answered with something other than JSON: "
                                       f"{response.text[:300]!r}") from None
            hint = " (check POQ_OPENAI_API_KEY or OPENAI_API_KEY)" if response.status_code in (401, 403) else ""
            error = f"HTTP {response.status_code} from {self.url}{hint}: {response.text[:500]}"
            if response.status_code not in RETRY_STATUS:
                break
        raise BackendError(f"{self.name}: {error} (after {attempt + 1} tries)")

    def generate(self, prompt: Prompt, max_new_tokens: int = 64) -> Generation:
        body = self._body(prompt, max_new_tokens)
        with measure() as m:
            reply = self._post(body)
        try:
            choice = reply["choices"][0]
            text = choice["message"]["content"] if self.chat else choice["text"]
            usage = reply["usage"]
            prompt_tokens, output_tokens = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"{self.name}: {self.url} answered without choices/usage, so it is not "
                               f"OpenAI-compatible or hides token counts: {str(reply)[:300]}") from exc
        return Generation(text=(text or "").strip(), prompt_tokens=prompt_tokens, output_tokens=output_tokens,
                          latency_ms=m.latency_ms, peak_memory_mb=0.0)

    def close(self) -> None:
        self.session.close()
