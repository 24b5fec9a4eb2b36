"""Task loading: the built-in set, SQuAD (flat JSONL and official nested JSON), CNN/DailyMail
(JSONL and CSV), and errors that name the file, the line and the field."""

import csv
import json
from pathlib import Path

import pytest
from eth_utils import keccak

from oracle.pipeline.tasks import TaskFileError, TaskSourceUnavailable, builtin_tasks, load_tasks
from oracle.protocol.task import Task, task_canonical, task_digest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture
def tasks_squad_sample() -> Path:
    path = SHARED_DATA / "squad_v1.1_dev_sample.jsonl"
    assert path.is_file(), f"the shared SQuAD sample is expected beside the repository at {path}"
    return path


@pytest.fixture
def tasks_cnn_sample() -> Path:
    path = SHARED_DATA / "cnn_dailymail_test_sample.jsonl"
    assert path.is_file(), f"the shared CNN/DailyMail sample is expected beside the repository at {path}"
    return path


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _squad_line(**fields) -> str:
    record = {"id": "q1", "context": "Paris is the capital of France.", "question": "What is the capital?",
              "answers": ["Paris"]}
    record.update(fields)
    return json.dumps({k: v for k, v in record.items() if v is not None})


# --------------------------------------------------------------------------- built-in


def test_builtin_set_has_qa_with_span_answers_and_short_articles():
    tasks = builtin_tasks()
    qa = [t for t in tasks if t.kind == "qa"]
    articles = [t for t in tasks if t.kind == "summarization"]
    assert len(qa) == 12 and len(articles) == 6
    assert len({t.id for t in tasks}) == len(tasks)
    assert all(t.source == "builtin" for t in tasks)
    for t in qa:
        assert t.question and t.references
        assert all(answer in t.context for answer in t.references), t.id  # extractive, as in SQuAD
    for t in articles:
        assert t.question is None and len(t.references) == 1
        assert 100 <= len(t.context.split()) <= 200, t.id
        assert len(t.references[0].split()) < len(t.context.split()) / 2, t.id


def test_load_builtin_with_limit_keeps_order():
    assert load_tasks("builtin", limit=3) == builtin_tasks()[:3]
    assert load_tasks(limit=0) == []
    with pytest.raises(ValueError, match="takes no path"):
        load_tasks("builtin", path="x.jsonl")


# --------------------------------------------------------------------------- SQuAD


def test_shared_squad_sample_loads_every_question(tasks_squad_sample):
    tasks = load_tasks("squad", tasks_squad_sample)
    assert len(tasks) == 200
    first = tasks[0]
    assert first.id == "572744aff1498d1400e8f58b"
    assert first.kind == "qa" and first.source == "squad_v1.1_dev_sample.jsonl"
    assert first.references[0] == "2 metres (6 ft 7 in)"
    assert first.question.startswith("Working versions of 3D-printing building technology")
    assert load_tasks("squad", tasks_squad_sample, limit=5) == tasks[:5]


def test_official_nested_squad_json(tmp_path):
    doc = {"version": "1.1", "data": [
        {"title": "A", "paragraphs": [
            {"context": "Alpha came first.", "qas": [
                {"id": "a1", "question": "What came first?",
                 "answers": [{"text": "Alpha", "answer_start": 0}, {"text": "Alpha", "answer_start": 0}]},
                {"id": "a2", "question": "Did it come first?", "answers": [{"text": "came first", "answer_start": 6}]},
            ]},
            {"context": "Beta came second.", "qas": [
                {"id": "a3", "question": "What came second?", "answers": [{"text": "Beta", "answer_start": 0}]}]},
        ]},
        {"title": "B", "paragraphs": [
            {"context": "Gamma is third.", "qas": [
                {"id": "b1", "question": "What is third?", "answers": [{"text": "Gamma", "answer_start": 0}]}]}]},
    ]}
    path = tmp_path / "dev-v1.1.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    tasks = load_tasks("squad", path)
    assert [t.id for t in tasks] == ["a1", "a2", "a3", "b1"]
    assert tasks[0] == Task(id="a1", kind="qa", source="dev-v1.1.json", context="Alpha came first.",
                            question="What came first?", references=("Alpha", "Alpha"))
    assert tasks[3].context == "Gamma is third."
    assert [t.id for t in load_tasks("squad", path, limit=2)] == ["a1", "a2"]
    # pretty-printed, as people save it, reads the same
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    assert load_tasks("squad", path) == tasks


def test_nested_squad_error_names_the_json_path(tmp_path):
    doc = {"data": [{"paragraphs": [{"context": "C.", "qas": [{"id": "x", "answers": [{"text": "C"}]}]}]}]}
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(TaskFileError) as err:
        load_tasks("squad", path)
    assert err.value.field == "question"
    assert str(path) in str(err.value) and "data[0].paragraphs[0].qas[0]" in str(err.value)


def test_bad_json_on_line_3_names_file_and_line(tmp_path):
    path = _write_lines(tmp_path / "qa.jsonl", [_squad_line(id="q1"), _squad_line(id="q2"), '{"id": "q3", oops'])
    with pytest.raises(TaskFileError) as err:
        load_tasks("squad", path)
    assert err.value.line == 3 and err.value.path == str(path)
    assert str(err.value).startswith(f"{path}:3: not valid JSON")


@pytest.mark.parametrize("field, bad, problem", [
    ("question", None, "missing"),
    ("context", "", "non-empty string"),
    ("answers", [], "non-empty list"),
    ("answers", ["Paris", 3], "every answer"),
])
def test_bad_squad_field_names_file_line_and_field(tmp_path, field, bad, problem):
    path = _write_lines(tmp_path / "qa.jsonl", [_squad_line(id="q1"), _squad_line(id="q2", **{field: bad})])
    with pytest.raises(TaskFileError, match=problem) as err:
        load_tasks("squad", path)
    assert (err.value.line, err.value.field) == (2, field)
    assert f"{path}:2: field {field!r}" in str(err.value)


def test_answer_shapes_from_squad_and_hugging_face(tmp_path):
    path = _write_lines(tmp_path / "qa.jsonl", [
        _squad_line(id="plain", answers=["Paris", "the city of Paris"]),
        _squad_line(id="squad", answers=[{"text": "Paris", "answer_start": 0}]),
        _squad_line(id="hf", answers={"text": ["Paris", "Paris"], "answer_start": [0, 0]}),
    ])
    refs = {t.id: t.references for t in load_tasks("squad", path)}
    assert refs == {"plain": ("Paris", "the city of Paris"), "squad": ("Paris",), "hf": ("Paris", "Paris")}


def test_duplicate_ids_are_refused(tmp_path):
    path = _write_lines(tmp_path / "qa.jsonl", [_squad_line(id="same"), _squad_line(id="same")])
    with pytest.raises(TaskFileError, match="duplicate id 'same'"):
        load_tasks("squad", path)


def test_missing_file_and_unknown_source(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(TaskFileError, match="no such file") as err:
        load_tasks("squad", missing)
    assert err.value.path == str(missing)
    with pytest.raises(ValueError, match="unknown task source 'mmlu'.*cnn_dailymail"):
        load_tasks("mmlu")


@pytest.mark.parametrize("source", ["squad", "cnn_dailymail"])
def test_hub_source_offline_says_to_pass_a_file(monkeypatch, source):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TaskSourceUnavailable, match="offline.*pass path= to a local file"):
        load_tasks(source)


# --------------------------------------------------------------------------- CNN/DailyMail


def test_shared_cnn_sample(tasks_cnn_sample):
    tasks = load_tasks("cnn_dailymail", tasks_cnn_sample, limit=3)
    assert len(tasks) == 3
    first = tasks[0]
    assert first.id == "0a6b027b3384e79929c19b94062882db8c7f91fc"
    assert first.kind == "summarization" and first.question is None
    assert first.context.startswith("(CNN)Arsenal kept their slim hopes")
    assert first.references[0].startswith("Arsenal beat Burnley 1-0 in the EPL .")
    assert len(load_tasks("cnn_dailymail", tasks_cnn_sample)) == 104


def test_cnn_csv_with_multiline_article(tmp_path):
    path = tmp_path / "cnn.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "article", "highlights"])
        writer.writerow(["c1", "First line of the article.\nSecond line, with a comma.", "A summary .\nAnother ."])
        writer.writerow(["c2", "A short article.", "Short ."])
    tasks = load_tasks("cnn_dailymail", path)
    assert [t.id for t in tasks] == ["c1", "c2"]
    assert tasks[0].context == "First line of the article.\nSecond line, with a comma."
    assert tasks[0].references == ("A summary .\nAnother .",)
    assert tasks[0].source == "cnn.csv"


def test_cnn_csv_missing_cell_names_the_row_start_line(tmp_path):
    path = tmp_path / "cnn.csv"
    path.write_text('id,article,highlights\nc1,"two\nlines",ok\nc2,article only\n', encoding="utf-8")
    with pytest.raises(TaskFileError) as err:
        load_tasks("cnn_dailymail", path)
    assert (err.value.line, err.value.field) == (4, "highlights")


def test_cnn_jsonl_missing_field(tmp_path):
    path = _write_lines(tmp_path / "cnn.jsonl", [json.dumps({"id": "c1", "article": "Text."})])
    with pytest.raises(TaskFileError, match=f"{path}:1: field 'highlights': missing"):
        load_tasks("cnn_dailymail", path)


# --------------------------------------------------------------------------- on-chain identity


def test_task_digest_is_keccak_of_the_documented_canonical_form():
    task = Task(id="t1", kind="qa", source="a.jsonl", context="Ctx é.", question="Q?", references=("A",))
    canonical = b'{"context":"Ctx \xc3\xa9.","id":"t1","kind":"qa","question":"Q?","v":"poq-task-v1"}'
    assert task_canonical(task) == canonical
    assert task_digest(task) == keccak(canonical) and len(task_digest(task)) == 32


def test_task_digest_ignores_secret_references_and_file_name_but_not_content():
    task = builtin_tasks()[0]
    same = Task(**{**task.__dict__, "references": ("something else",), "source": "other.jsonl"})
    changed = Task(**{**task.__dict__, "question": task.question + " "})
    assert task_digest(same) == task_digest(task)
    assert task_digest(changed) != task_digest(task)
    assert len({task_digest(t) for t in builtin_tasks()}) == len(builtin_tasks())
