"""``poq paper``: every row is computed from the profile, and each claim's verdict follows the numbers."""

from __future__ import annotations

from pathlib import Path

from oracle.pipeline.eval_report import paired, pearson
from oracle.simulation.paper import model_rows, side_by_side
from oracle.simulation.record_pool import read_profile
from poq.main import main


def _as_packaged(profile: Path) -> Path:
    """The test profile with its evaluators named as the comparison expects (bi-encoder, cross-encoder)."""
    text = profile.read_text().replace('"sts"', '"minilm-bi"').replace('"cross"', '"qwen-cross"')
    profile.write_text(text)
    probes = profile.parent / "probes.jsonl"
    probes.write_text(probes.read_text().replace('"sts"', '"minilm-bi"').replace('"cross"', '"qwen-cross"'))
    return profile


def test_the_comparison_has_a_cross_encoder_row_and_verdicts_that_follow_the_numbers(profile: Path):
    profile = _as_packaged(profile)
    text = side_by_side(profile, rounds=300)
    records = list(read_profile(profile))
    bi = pearson(*paired(records, "minilm-bi", "token_f1"))
    cross = pearson(*paired(records, "qwen-cross", "token_f1"))
    cross_row = next(line for line in text.splitlines() if line.startswith("| cross-encoder | CE-MiniLM"))
    assert cross_row.split(" | ")[4].startswith(f"{cross.r:+.2f} [") and "not recorded" not in cross_row
    assert cross_row.endswith("| no such tasks | no such tasks |")  # the test profile holds QA only
    verdict = "agrees" if bi.r > cross.r else "does not agree"
    assert f"cross-encoders*: {verdict}: on QA the bi-encoder's r with token F1 is {bi.r:+.2f}" in text
    rows = model_rows(records)
    for r in rows:  # sizes unknown to the registry
        assert f"| {r.model} | ? | {r.quality:.3f} | {r.judge:.3f} | {r.latency_s:.2f} |" in text


def test_poq_paper_writes_the_file_and_says_where_a_row_is_missing(profile: Path, tmp_path: Path):
    out = tmp_path / "cmp.md"
    assert main(["paper", "--profile", str(profile), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| cross-encoder | CE-DeBERTa: -0.04 | +0.03 | qwen-cross | not recorded |" in text
    assert "cannot be checked yet: the profile holds no `qwen-cross` scores" in text
    assert not out.with_name("cmp.md.tmp").exists()


def test_the_packaged_comparison_is_what_poq_paper_computes_from_the_default_profile():
    from oracle.simulation.record_pool import DEFAULT_PROFILE

    recorded = (DEFAULT_PROFILE.parent / "paper_comparison.md").read_text()
    assert recorded == side_by_side(DEFAULT_PROFILE), "re-run `poq paper` after re-recording the profile"


def test_every_figure_of_the_readme_paper_table_is_one_poq_paper_computed():
    """README.md summarises the packaged comparison by hand: each of its figures must stand in that file
    (at the README's precision), so the README cannot drift from what ``poq paper`` computes."""
    import re

    from oracle.chain.toolchain import ROOT
    from oracle.simulation.record_pool import DEFAULT_PROFILE

    readme = (ROOT / "README.md").read_text()
    table = readme.split("### The paper side by side (`poq paper`)", 1)[1].split("\n\n", 2)[1]
    ours = [row.split(" | ")[2] for row in table.splitlines()[2:]]  # the "this project" column
    computed = (DEFAULT_PROFILE.parent / "paper_comparison.md").read_text()
    numbers = [float(x) for x in re.findall(r"\d+\.\d+", computed)]
    figures = [x for cell in ours for x in re.findall(r"(?<![\w.-])\d+\.\d+", cell)]
    assert len(figures) >= 6, ours
    for figure in figures:
        places = len(figure.split(".")[1])
        assert any(round(n, places) == float(figure) for n in numbers), f"README's {figure} is not in the comparison"
