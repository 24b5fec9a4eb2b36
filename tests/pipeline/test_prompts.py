"""Prompt templates: versioned ids, chat messages and plain-completion text."""

import pytest

from oracle.pipeline.prompts import TEMPLATES, render
from oracle.pipeline.tasks import builtin_tasks
from oracle.protocol.task import Task


def test_qa_prompt_carries_passage_and_question():
    task = next(t for t in builtin_tasks() if t.kind == "qa")
    prompt = render(task)
    assert prompt.template_id == "qa-v1"
    assert task.context in prompt.user and task.question in prompt.user
    assert [m["role"] for m in prompt.messages()] == ["system", "user"]
    assert prompt.messages()[1]["content"] == prompt.user
    assert prompt.messages(system_role=False) == [{"role": "user", "content": f"{prompt.system}\n\n{prompt.user}"}]
    assert prompt.plain_text() == f"{prompt.system}\n\n{prompt.user}\nAnswer:"
    assert prompt.stop == ("\n",)


def test_summarization_prompt_carries_the_article():
    task = next(t for t in builtin_tasks() if t.kind == "summarization")
    prompt = render(task)
    assert prompt.template_id == "sum-v1"
    assert task.context in prompt.user and "summar" in prompt.system.lower()
    assert prompt.plain_text().endswith("\nSummary:")


def test_braces_in_a_task_are_kept_verbatim():
    task = Task(id="b", kind="qa", source="x", context="Use {x} and {{y}}.", question="What is {x}?",
                references=("{x}",))
    assert "Use {x} and {{y}}." in render(task).user and "What is {x}?" in render(task).user


def test_template_ids_are_checked():
    qa, article = builtin_tasks()[0], builtin_tasks()[-1]
    assert render(qa, "qa-v1") == render(qa)
    with pytest.raises(ValueError, match="unknown prompt template 'qa-v9'"):
        render(qa, "qa-v9")
    with pytest.raises(ValueError, match="'qa-v1' is not for summarization"):
        render(article, "qa-v1")
    assert set(TEMPLATES) == {"qa-v1", "sum-v1"}
