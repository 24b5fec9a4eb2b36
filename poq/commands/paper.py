"""``poq paper``: the paper's published figures beside this project's, on the same measures.

Reads a recorded profile (default: the packaged one), runs 5,000 honest Monte
Carlo rounds on the reference backend, and prints and writes the comparison:
evaluator correlations (bi-encoder, cross-encoder, judge) per task kind, quality
and latency per model, the average reward per model and per evaluator, and
whether each of the paper's claims holds here. docs/PIPELINE.md and the README
quote its output for the default profile.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from poq.options import profile_option
from poq.outputs import write_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("paper", help="the paper's figures beside this project's, from a recorded profile",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    profile_option(p)
    p.add_argument("--out", type=Path, default=None,
                   help="Markdown file to write (default: paper_comparison.md beside the profile)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.markdown import Markdown

    from oracle.simulation.paper import side_by_side
    from oracle.simulation.record_pool import DEFAULT_PROFILE
    from poq.options import console as wide_console

    profile = args.profile or DEFAULT_PROFILE
    out = args.out or profile.parent / "paper_comparison.md"
    text = side_by_side(profile)
    write_text(out, text)
    console = wide_console()
    console.print(Markdown(text))
    console.print(f"written: {out}")
    return 0
