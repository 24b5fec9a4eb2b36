"""run.json names every path relative to the project, so a recorded profile does not carry its machine."""

from __future__ import annotations

import json
import os
from pathlib import Path

from oracle.chain.toolchain import ROOT
from oracle.pipeline.eval_run import EvalConfig

DEFAULT_PROFILE = ROOT / "oracle" / "profiles" / "default"


def _paths(d: dict) -> list[str]:
    return [d["out"], *(p for p in d["data"] if p)]


def test_run_file_paths_are_relative_to_the_project(tmp_path):
    data = ROOT.parent / "shared" / "data" / "squad_v1.1_dev_sample.jsonl"
    config = EvalConfig(out=tmp_path / "eval-out", sources=["squad"], data=[data])
    d = json.loads(config.to_json())
    assert all(not os.path.isabs(p) for p in _paths(d)), d
    assert d["data"] == ["../shared/data/squad_v1.1_dev_sample.jsonl"]
    assert (ROOT / d["out"]).resolve() == (tmp_path / "eval-out").resolve()


def test_the_recorded_default_profile_names_no_absolute_path():
    d = json.loads((DEFAULT_PROFILE / "run.json").read_text())
    assert all(not os.path.isabs(p) for p in _paths(d)), d
    assert all(Path(ROOT / p).name for p in _paths(d))
