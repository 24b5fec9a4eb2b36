"""Evaluators read from a local instruct LM's P("Yes"): ``qwen-cross`` and ``judge``.

Both ask one yes/no question per output and read the answer's probability from
the logits (``oracle.pipeline.quality.yes_no``); they differ in what the model reads:

- ``qwen-cross`` is a *cross-encoder*: it reads the source (the QA context or the
  article) and the question together with the answer, and asks whether the
  answer is correct *according to the source*. It is grounded in the evidence and
  needs no reference; its cost grows with the source's length. (Adding the
  reference to this prompt was tried and made qwen2.5-1.5b *worse* at rejecting a
  wrong answer: P(Yes) for "Carolina Panthers" rose from 0.41 to 0.70.)
- ``judge`` is an *LLM judge*: it never sees the source; it grades the answer
  against the reference answer, the way a human grader with an answer key (or
  gpt-4o-mini in the paper) does. Its prompts are short, so it is cheaper, and it
  needs a reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from oracle.pipeline.quality.base import require_reference
from oracle.pipeline.quality.yes_no import YesNoScorer

if TYPE_CHECKING:
    from oracle.protocol.task import Task

CROSS_SYSTEM = "You check answers against a source text. Reply with Yes or No only."
JUDGE_SYSTEM = "You are a strict, fair grader who compares a candidate with an answer key. Reply with Yes or No only."


def cross_prompt(task: Task, output: str) -> tuple[str, tuple[str, str, str]]:
    """(system, (head, source, tail)): source first so a round's prompts share a prefix; no reference."""
    if task.kind == "qa":
        tail = (f"\n\nQuestion: {task.question}\nProposed answer: {output}\n\n"
                "Is the proposed answer correct according to the context? Answer Yes or No.")
        return CROSS_SYSTEM, ("Context:\n", task.context, tail)
    tail = (f"\n\nProposed summary: {output}\n\n"
            "Is the proposed summary faithful to the article and does it state the article's main points? "
            "Answer Yes or No.")
    return CROSS_SYSTEM, ("Article:\n", task.context, tail)


def judge_prompt(task: Task, output: str) -> tuple[str, str]:
    """(system, user) of the judge: question + reference + candidate, no source text."""
    refs = " / ".join(task.references)
    if task.kind == "qa":
        user = (f"Question: {task.question}\nReference answer: {refs}\nCandidate answer: {output}\n\n"
                "Does the candidate answer give the same answer as the reference? Extra correct detail is "
                "fine; a different, missing or vague answer is not. Answer Yes or No.")
    else:
        user = (f"Reference summary:\n{refs}\n\nCandidate summary:\n{output}\n\n"
                "Does the candidate summary state the key facts of the reference summary without "
                "contradicting it? Answer Yes or No.")
    return JUDGE_SYSTEM, user


class _YesNoEvaluator:
    """Shared batching and token accounting; subclasses choose the prompt."""

    needs_reference: bool

    def __init__(self, name: str, gguf_path: Path, n_ctx: int = 4096, threads: int | None = None):
        self.name = name
        self.scorer = YesNoScorer(gguf_path, n_ctx=n_ctx, threads=threads)

    def prompt_tokens(self, task: Task, output: str) -> list[int]:
        raise NotImplementedError

    def score(self, task: Task, outputs: Sequence[str]) -> list[float]:
        return [self.scorer.prob_yes(self.prompt_tokens(task, o)) for o in outputs]

    def count_tokens(self, task: Task, outputs: Sequence[str]) -> int:
        return sum(len(self.prompt_tokens(task, o)) for o in outputs)

    def close(self) -> None:
        self.scorer.close()


class LMCrossEvaluator(_YesNoEvaluator):
    """Cross-encoding with a local instruct LM: P(the answer is correct | source, question, answer)."""

    needs_reference = False

    def prompt_tokens(self, task: Task, output: str) -> list[int]:
        system, (head, source, tail) = cross_prompt(task, output)
        return self.scorer.fitted_tokens(system, head, source, tail)


class LocalJudgeEvaluator(_YesNoEvaluator):
    """LLM judge with a local instruct LM: P(the candidate matches the reference | question)."""

    needs_reference = True

    def prompt_tokens(self, task: Task, output: str) -> list[int]:
        require_reference(self, task)
        system, user = judge_prompt(task, output)
        return self.scorer.fitted_tokens(system, "", "", user)
