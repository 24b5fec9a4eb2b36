"""Inference backends: one ``Backend`` protocol, three ways to run a model.

``llamacpp_backend`` runs GGUF files in-process (the packaged models), the
``transformers_backend`` runs Hugging Face checkpoints (or GGUF, dequantised), and
``openai_backend`` calls any OpenAI-compatible server. ``oracle.pipeline.models.load_model``
picks one from a model name.
"""

from oracle.pipeline.backends.base import Backend, BackendError, Generation

__all__ = ["Backend", "BackendError", "Generation"]
