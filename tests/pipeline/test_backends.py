"""Inference backends on real weights: llama.cpp in-process, an OpenAI-compatible server
process on loopback (llama-cpp-python's own server), and transformers on a tiny model
built here."""

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from oracle.pipeline.backends import Backend, BackendError, Generation
from oracle.pipeline.backends.llamacpp_backend import LlamaCppBackend
from oracle.pipeline.backends.openai_backend import OpenAIBackend
from oracle.pipeline.models import load_model, model_path
from oracle.pipeline.prompts import render
from oracle.pipeline.tasks import builtin_tasks

SERVER_KEY = "poq-test-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def backends_items():
    """Two built-in items: a question and an article."""
    tasks = builtin_tasks()
    return next(t for t in tasks if t.id == "qa-lighthouse"), next(t for t in tasks if t.kind == "summarization")


@pytest.fixture(scope="module")
def backends_smollm2():
    backend = LlamaCppBackend(model_path("smollm2-135m"), "smollm2-135m", n_ctx=2048)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def backends_server(tmp_path_factory):
    """``python -m llama_cpp.server`` serving smollm2 on a free loopback port, with an API key."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path("smollm2-135m")),
             "--host", "127.0.0.1", "--port", str(port), "--model_alias", "smollm2", "--n_ctx", "2048",
             "--api_key", SERVER_KEY],
            stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
            try:
                if requests.get(f"{base_url}/v1/models", timeout=2,
                                headers={"Authorization": f"Bearer {SERVER_KEY}"}).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer in 90 s:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _check_generation(g: Generation, max_new_tokens: int) -> None:
    assert g.text.strip() == g.text and g.text
    assert g.prompt_tokens > 20 and 0 < g.output_tokens <= max_new_tokens
    assert g.latency_ms > 0


# --------------------------------------------------------------------------- llama.cpp


@pytest.mark.slow
def test_smollm2_generates_greedily_and_reproducibly(backends_smollm2, backends_items):
    question, article = backends_items
    assert isinstance(backends_smollm2, Backend) and backends_smollm2.chat
    answer = backends_smollm2.generate(render(question), max_new_tokens=16)
    summary = backends_smollm2.generate(render(article), max_new_tokens=24)
    for g, limit in ((answer, 16), (summary, 24)):
        _check_generation(g, limit)
        assert g.peak_memory_mb > 50  # the process holds the model: tens of MB at least
    assert "Agnes Tull" in answer.text
    # The same prompt again, after another one: identical, whatever ran before.
    again = backends_smollm2.generate(render(question), max_new_tokens=16)
    assert (again.text, again.prompt_tokens, again.output_tokens) == (
        answer.text, answer.prompt_tokens, answer.output_tokens)


@pytest.mark.slow
def test_context_overflow_says_which_option_to_raise(backends_items):
    backend = LlamaCppBackend(model_path("smollm2-135m"), "smollm2-135m", n_ctx=128)
    try:
        with pytest.raises(BackendError, match=r"prompt \(\d+ tokens\) plus 64 new.*larger n_ctx \(now 128\)"):
            backend.generate(render(backends_items[1]), max_new_tokens=64)
    finally:
        backend.close()


@pytest.mark.slow
def test_gemma3_base_model_loads_and_completes(backends_items):
    backend = load_model("gemma3-270m")
    try:
        assert isinstance(backend, LlamaCppBackend) and backend.chat is False  # base model
        g = backend.generate(render(backends_items[0]), max_new_tokens=16)
        _check_generation(g, 16)
        assert "\n" not in g.text  # a QA completion stops at the end of the answer line
    finally:
        backend.close()


# --------------------------------------------------------------------------- OpenAI-compatible server


@pytest.mark.slow
def test_openai_backend_against_a_real_llama_cpp_server(backends_server, backends_smollm2, backends_items,
                                                        monkeypatch):
    monkeypatch.setenv("POQ_OPENAI_API_KEY", SERVER_KEY)
    question = render(backends_items[0])
    backend = load_model(f"openai:{backends_server}#smollm2")
    try:
        assert isinstance(backend, OpenAIBackend) and backend.name == f"openai:{backends_server}#smollm2"
        first = backend.generate(question, max_new_tokens=12)
        second = backend.generate(question, max_new_tokens=12)
    finally:
        backend.close()
    _check_generation(first, 12)
    assert first.peak_memory_mb == 0.0  # a remote server's memory is not observable
    assert first.text == second.text  # temperature 0
    # Same weights and chat template as in-process: the server counts the same prompt tokens.
    local = backends_smollm2.generate(question, max_new_tokens=12)
    assert first.prompt_tokens == local.prompt_tokens


@pytest.mark.slow
def test_openai_plain_completions_endpoint_stops_at_the_prompt_stop(backends_server, backends_items):
    backend = OpenAIBackend(f"{backends_server}/v1/", "smollm2", chat=False, api_key=SERVER_KEY)
    g = backend.generate(render(backends_items[0]), max_new_tokens=12)
    assert backend.url == f"{backends_server}/v1/completions"
    assert "\n" not in g.text and g.prompt_tokens > 20 and g.output_tokens <= 12


@pytest.mark.slow
def test_openai_http_errors_are_clear(backends_server, backends_items, monkeypatch):
    monkeypatch.delenv("POQ_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    prompt = render(backends_items[0])
    with pytest.raises(BackendError, match="HTTP 401 .*check POQ_OPENAI_API_KEY"):
        OpenAIBackend(backends_server, "smollm2", retries=0).generate(prompt, 4)
    with pytest.raises(BackendError, match="HTTP 404"):
        OpenAIBackend(backends_server + "/not-here", "smollm2", api_key=SERVER_KEY, retries=0).generate(prompt, 4)


def test_openai_connection_refused_retries_then_names_the_address(backends_items):
    url = f"http://127.0.0.1:{_free_port()}"
    backend = OpenAIBackend(url, "m", retries=2, backoff_s=0.01)
    with pytest.raises(BackendError, match=r"no answer from .*is the server running.*after 3 tries"):
        backend.generate(render(backends_items[0]), 4)


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 (model still loading) until it has been asked ``fail`` times, then a completion."""

    fail = 2
    calls = 0

    def do_POST(self):
        type(self).calls += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).calls <= self.fail:
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"loading")
            return
        body = json.dumps({"choices": [{"message": {"content": " ok "}}],
                           "usage": {"prompt_tokens": 7, "completion_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_openai_backend_backs_off_on_503(backends_items):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        backend = OpenAIBackend(f"http://127.0.0.1:{server.server_address[1]}", "m", retries=3, backoff_s=0.01)
        g = backend.generate(render(backends_items[0]), 4)
        assert (g.text, g.prompt_tokens, g.output_tokens, _Flaky.calls) == ("ok", 7, 1, 3)
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- transformers


_TINY_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
                  "{% if add_generation_prompt %}<|assistant|>{% endif %}")
_NO_SYSTEM_TEMPLATE = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                       "{% endif %}" + _TINY_TEMPLATE)  # as Gemma's templates do


@pytest.fixture(scope="module")
def backends_tiny_checkpoint(tmp_path_factory) -> Path:
    """A real (random-weight) Llama checkpoint with a word-level tokenizer and a chat template."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    words = sorted({w for t in builtin_tasks()[:3] for p in (render(t),) for w in (p.system + " " + p.user).split()})
    specials = ["[UNK]", "[PAD]", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
    vocab = {tok: i for i, tok in enumerate(specials + words)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]",
                                        bos_token="<s>", eos_token="</s>",
                                        additional_special_tokens=specials[4:])
    tokenizer.chat_template = _TINY_TEMPLATE
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         pad_token_id=vocab["[PAD]"], bos_token_id=vocab["<s>"], eos_token_id=vocab["</s>"])
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_transformers_backend_on_a_local_folder(backends_tiny_checkpoint, backends_items):
    from oracle.pipeline.backends.transformers_backend import TransformersBackend

    backend = load_model(str(backends_tiny_checkpoint))
    try:
        assert isinstance(backend, TransformersBackend) and backend.chat and backend.system_role
        assert backend.device == "cpu"
        prompt = render(backends_items[0])
        g = backend.generate(prompt, max_new_tokens=6)
        expected = backend.tokenizer.apply_chat_template(prompt.messages(), add_generation_prompt=True,
                                                         return_dict=True)["input_ids"]
        assert g.prompt_tokens == len(expected)  # the chat template was applied
        assert 0 < g.output_tokens <= 6 and g.latency_ms > 0 and g.peak_memory_mb > 0
        again = backend.generate(prompt, max_new_tokens=6)
        assert (again.text, again.output_tokens) == (g.text, g.output_tokens)  # greedy
    finally:
        backend.close()


def test_transformers_template_without_system_role_gets_one_user_turn(backends_tiny_checkpoint, backends_items,
                                                                      tmp_path):
    from transformers import AutoTokenizer

    from oracle.pipeline.backends.transformers_backend import TransformersBackend

    folder = tmp_path / "no-system"
    shutil.copytree(backends_tiny_checkpoint, folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = _NO_SYSTEM_TEMPLATE
    tokenizer.save_pretrained(folder)
    backend = TransformersBackend(folder, "no-system")
    try:
        assert backend.chat and not backend.system_role
        prompt = render(backends_items[0])
        g = backend.generate(prompt, max_new_tokens=3)
        merged = tokenizer.apply_chat_template(prompt.messages(system_role=False), add_generation_prompt=True,
                                               return_dict=True)["input_ids"]
        assert g.prompt_tokens == len(merged)
    finally:
        backend.close()


def test_transformers_plain_completion_counts_the_plain_prompt(backends_tiny_checkpoint, backends_items):
    from oracle.pipeline.backends.transformers_backend import TransformersBackend

    backend = TransformersBackend(backends_tiny_checkpoint, "tiny", chat=False)
    try:
        prompt = render(backends_items[0])
        g = backend.generate(prompt, max_new_tokens=5)
        assert g.prompt_tokens == len(backend.tokenizer(prompt.plain_text())["input_ids"])
        assert 0 < g.output_tokens <= 5
    finally:
        backend.close()


def test_llama_cpp_formatter_without_system_role_is_detected():
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from oracle.pipeline.backends.base import accepts_system_role

    def check(template: str) -> bool:
        formatter = Jinja2ChatFormatter(template=template, eos_token="</s>", bos_token="<s>")
        return accepts_system_role(lambda messages: formatter(messages=messages))

    assert check(_TINY_TEMPLATE) and not check(_NO_SYSTEM_TEMPLATE)
