"""The commands' outputs are replaced whole or not at all (poq/outputs.py)."""

from __future__ import annotations

import pytest

from poq.outputs import save_figure, write_csv, write_text


def test_a_write_cut_by_an_error_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "rows.csv"
    write_csv(path, ["a", "b"], [{"a": 1, "b": 2}])
    before = path.read_text()

    def rows():
        yield {"a": 3, "b": 4}
        raise RuntimeError("interrupted mid-way")

    with pytest.raises(RuntimeError, match="interrupted"):
        write_csv(path, ["a", "b"], rows())
    assert path.read_text() == before == "a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.csv"]


def test_text_and_figures_land_under_their_own_names(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    write_text(tmp_path / "t.md", "# title\n")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "f.png", dpi=50)
    assert (tmp_path / "t.md").read_text() == "# title\n"
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "t.md"]
