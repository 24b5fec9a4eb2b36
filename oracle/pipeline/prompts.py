"""The prompt each kind of task is sent as, under a versioned template id.

A profile record names its template (``qa-v1``), so changing a wording means a new
id, never an edit in place: records made under the old wording stay comparable with
each other. Chat models get ``system`` + ``user`` through their own chat template;
base models (no chat template) get ``plain_text()``, a completion that ends with a cue
such as "Answer:" and stops at ``stop``.
"""

from __future__ import annotations

from dataclasses import dataclass

from oracle.protocol.task import Task


@dataclass(frozen=True)
class Prompt:
    template_id: str
    system: str
    user: str
    cue: str = ""  # what a plain completion ends with, so a base model starts the answer
    stop: tuple[str, ...] = ()  # where a plain completion ends (base models run on otherwise)

    def messages(self, system_role: bool = True) -> list[dict[str, str]]:
        """OpenAI-style chat messages; without a system role (Gemma's templates reject one) the
        instructions open the user turn instead."""
        if not system_role:
            return [{"role": "user", "content": f"{self.system}\n\n{self.user}"}]
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]

    def plain_text(self) -> str:
        """One completion prompt for a base model: instructions, the task, then the cue."""
        return f"{self.system}\n\n{self.user}\n{self.cue}"


@dataclass(frozen=True)
class _Template:
    id: str
    kind: str
    system: str
    user: str  # str.format fields: context, question
    cue: str
    stop: tuple[str, ...]

    def render(self, task: Task) -> Prompt:
        return Prompt(template_id=self.id, system=self.system,
                      user=self.user.format(context=task.context, question=task.question),
                      cue=self.cue, stop=self.stop)


QA_V1 = _Template(
    id="qa-v1",
    kind="qa",
    system=("You answer questions about a passage. Reply with the shortest phrase from the passage "
            "that answers the question, with no explanation."),
    user="Passage: {context}\n\nQuestion: {question}",
    cue="Answer:",
    stop=("\n",),
)
SUM_V1 = _Template(
    id="sum-v1",
    kind="summarization",
    system="You summarise news articles. Reply with a summary of two or three sentences, with no preamble.",
    user="Article: {context}",
    cue="Summary:",
    stop=("\n\n",),
)

# The template each task kind uses now; a new wording gets a new id here.
CURRENT = {t.kind: t for t in (QA_V1, SUM_V1)}
TEMPLATES = {t.id: t for t in (QA_V1, SUM_V1)}


def render(task: Task, template_id: str | None = None) -> Prompt:
    """The prompt for ``task``: its kind's current template, or ``template_id`` to replay an old record."""
    if template_id is None:
        template = CURRENT[task.kind]
    elif template_id in TEMPLATES:
        template = TEMPLATES[template_id]
    else:
        raise ValueError(f"unknown prompt template {template_id!r}; known: {sorted(TEMPLATES)}")
    if template.kind != task.kind:
        raise ValueError(f"template {template.id!r} is not for {task.kind} tasks (task {task.id!r})")
    return template.render(task)
