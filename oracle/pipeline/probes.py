"""Probes: a fixed, versioned set of non-answers that every evaluator scores on every task.

A lazy node sends something it did not compute: "I don't know.", the question
back, or the first sentence of the source it was given. (An empty answer is
left out: it is a second non-answer of the same kind as "I don't know.", and
each probe costs the two LM evaluators a few seconds of CPU per task.) The profile
records what each evaluator makes of those answers on each task, so the Monte
Carlo engine can re-score lazy and copying strategies from measurements instead
of bounding them, and a quality floor can be set against them.

A probe's text follows from its name and the task alone, so a probe record
keeps no text (and so none of the data set's). Changing any text or adding a
probe changes what the records mean: bump ``PROBES_VERSION`` with it. Records
of another version are ignored and re-recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from oracle.protocol.task import Task

PROBES_VERSION = "probes-v1"
IDK = "I don't know."
LEAD_WORDS = 60  # the first sentence of a source, cut to this many words (a run-on lead stays short)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Probe:
    name: str
    description: str
    answer: Callable[[Task], str | None]  # the non-answer for a task, or None where it does not apply


def lead_sentence(text: str) -> str:
    """The source's first sentence (at most ``LEAD_WORDS`` words): what a copying node would paste."""
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    return " ".join(first.split()[:LEAD_WORDS])


PROBES: tuple[Probe, ...] = (
    Probe("idk", f"the constant {IDK!r}", lambda task: IDK),
    Probe("question", "the question repeated (QA only)", lambda task: task.question or None),
    Probe("lead", "the first sentence of the context or article", lambda task: lead_sentence(task.context)),
)
PROBE_NAMES = tuple(p.name for p in PROBES)


def probe_answers(task: Task) -> list[tuple[str, str]]:
    """(probe name, answer text) of every probe that applies to ``task``, in ``PROBES`` order."""
    out = []
    for probe in PROBES:
        text = probe.answer(task)
        if text is not None:
            out.append((probe.name, text))
    return out


def word_count(text: str) -> int:
    """The attested length of a probe answer: whitespace-separated words (a probe runs no tokenizer)."""
    return len(text.split())
