"""The commands' outputs are replaced whole or not at all (poq/outputs.py)."""

from __future__ import annotations

import pytest

from poq.outputs import save_figure, write_csv, write_parquet, write_text


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


def test_a_parquet_table_holds_the_rows_and_a_failed_write_keeps_the_previous_one(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    write_parquet(path, [{"point": "a", "gain": 0.25}, {"point": "b", "gain": -0.5}])
    assert pq.read_table(path).to_pylist() == [{"point": "a", "gain": 0.25}, {"point": "b", "gain": -0.5}]
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):  # a column of mixed types
        write_parquet(path, [{"point": "c", "gain": 1.0}, {"point": "d", "gain": "not a number"}])
    assert pq.read_table(path).to_pylist()[0] == {"point": "a", "gain": 0.25}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.parquet"]
