"""The files the commands write, each replaced atomically.

Every output is written to a temporary file beside it and renamed over it, so
an interrupted command leaves the previous complete file or the new one, never
a partial one that a reader (or a resumed run) would take for a result.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def replacing(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` once the block completes.

    The suffix keeps the extension a writer may need (matplotlib picks its format from it).
    """
    tmp = path.with_name(path.name + suffix)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(path: Path, fields: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """One header line of ``fields``, then one line per row (a mapping from field to value)."""
    with replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fields))
        writer.writeheader()
        writer.writerows(rows)


def write_parquet(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """The rows as one Parquet table (columns from the first row), for pandas, polars or DuckDB."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([dict(r) for r in rows])
    with replacing(path, suffix=".tmp.parquet") as tmp:
        pq.write_table(table, tmp)


def write_text(path: Path, text: str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_figure(fig: Any, path: Path, **savefig: Any) -> None:
    """Save a matplotlib figure (PNG by ``path``'s extension) and close it."""
    import matplotlib.pyplot as plt

    with replacing(path, suffix=".tmp" + path.suffix) as tmp:
        fig.savefig(tmp, **savefig)
    plt.close(fig)
