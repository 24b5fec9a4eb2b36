"""Option validators shared by every ``poq`` command: each rule is written once, here.

Each is an argparse ``type=``: it returns the parsed value or raises
``argparse.ArgumentTypeError`` with a message that names the value and says
what to give instead, so a bad option stops the command before it does any
work (argparse prints ``poq CMD: error: argument --OPT: <message>``, exit 2).
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlparse

# A round's budget: at most 2^96 wei (about 79 billion ETH), far below the uint128 pools it is split into.
MAX_BUDGET_WEI = 2**96
WEI_PER_ETH = 10**18

_Type = Callable[[str], object]


def _bad(text: str, why: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{text!r}: {why}")


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise _bad(text, f"not a whole number: give {what}") from None


def int_range(low: int | None = None, high: int | None = None, what: str | None = None) -> Callable[[str], int]:
    """A whole number in ``[low, high]`` (either bound may be open)."""
    if what is None:
        if low is not None and high is not None:
            what = f"a whole number from {low} to {high}"
        elif low == 1:
            what = "a positive whole number (1 or more)"
        elif low is not None:
            what = f"a whole number of {low} or more"
        else:
            what = f"a whole number of at most {high}"

    def parse(text: str) -> int:
        value = _int(text, what)
        if (low is not None and value < low) or (high is not None and value > high):
            raise _bad(text, f"out of range: give {what}")
        return value

    parse.__name__ = "int"  # argparse names the type in its own messages
    return parse


positive_int = int_range(1)
non_negative_int = int_range(0)


def positive_float(text: str) -> float:
    """A finite number above 0 (seconds, for instance)."""
    try:
        value = float(text)
    except ValueError:
        raise _bad(text, "not a number: give a number above 0, e.g. 0.5") from None
    if not math.isfinite(value) or value <= 0:
        raise _bad(text, "give a finite number above 0, e.g. 0.5")
    return value


def eth_to_wei(eth: float | str | Decimal) -> int:
    """ETH -> wei, exactly for what was typed (``Decimal`` of the text, not of a rounded float)."""
    return int(Decimal(str(eth)) * WEI_PER_ETH)


def positive_eth(text: str) -> float:
    """An amount of ETH: finite, at least 1 wei, below ``MAX_BUDGET_WEI``."""
    cap = f"{MAX_BUDGET_WEI // WEI_PER_ETH:,} ETH (2^96 wei)"
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise _bad(text, "not a number: give an amount of ETH, e.g. 1 or 0.05") from None
    if not amount.is_finite():
        raise _bad(text, f"give a finite amount of ETH above 0 and below {cap}")
    wei = int(amount * WEI_PER_ETH)
    if wei < 1:
        raise _bad(text, "the amount must be positive (at least 1 wei = 1e-18 ETH): give e.g. 1 or 0.05")
    if wei >= MAX_BUDGET_WEI:
        raise _bad(text, f"too large: give less than {cap}")
    return float(amount)


def fraction(text: str) -> float:
    """A number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise _bad(text, "not a number: give a fraction in [0, 1], e.g. 0.3") from None
    if not 0.0 <= value <= 1.0:  # also false for nan
        raise _bad(text, "give a fraction in [0, 1], e.g. 0.3")
    return value


def port(text: str) -> int:
    """A TCP port, 1 to 65535."""
    return _port(text, allow_zero=False)


def port_or_zero(text: str) -> int:
    """A TCP port, 1 to 65535, or 0 for a free one the system picks."""
    return _port(text, allow_zero=True)


def _port(text: str, allow_zero: bool) -> int:
    what = "a port from 1 to 65535" + (", or 0 for a free one" if allow_zero else "")
    value = _int(text, what)
    if not (0 if allow_zero else 1) <= value <= 65535:
        raise _bad(text, f"not a TCP port: give {what}")
    return value


def rpc_url(text: str) -> str:
    """An http(s) JSON-RPC URL with a host (and a valid port, if one is given)."""
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise _bad(text, "not a JSON-RPC URL: give http://HOST:PORT, e.g. http://127.0.0.1:8545")
    try:
        parsed.port  # noqa: B018 - raises for a port outside 0..65535 or not a number
    except ValueError:
        raise _bad(text, "the port is not a number from 1 to 65535: e.g. http://127.0.0.1:8545") from None
    return text


def csv_ints(count: int | None = None, low: int | None = None, high: int | None = None,
             example: str = "1,2,3") -> Callable[[str], list[int]]:
    """Comma-separated whole numbers (negative ones too), optionally exactly ``count`` in ``[low, high]``."""
    what = (f"{count} " if count else "") + "comma-separated whole numbers"
    bounds = []
    if low is not None:
        bounds.append(f">= {low}")
    if high is not None:
        bounds.append(f"<= {high}")
    rule = what + (f", each {' and '.join(bounds)}" if bounds else "") + f", e.g. {example}"

    def parse(text: str) -> list[int]:
        items = [x.strip() for x in text.split(",")]
        try:
            values = [int(x.replace("_", "")) for x in items]
        except ValueError:
            raise _bad(text, f"give {rule}") from None
        if count is not None and len(values) != count:
            raise _bad(text, f"{len(values)} value(s): give {rule}")
        for x in values:
            if (low is not None and x < low) or (high is not None and x > high):
                raise _bad(text, f"{x} is out of range: give {rule}")
        return values

    parse.__name__ = "list of int"
    return parse


def csv_floats(low: float, high: float, what: str) -> Callable[[str], list[float]]:
    """Comma-separated numbers, at least one, each in ``[low, high]``."""
    def parse(text: str) -> list[float]:
        try:
            values = [float(x) for x in text.split(",") if x.strip()]
        except ValueError:
            values = []
        if not values or any(not low <= v <= high for v in values):  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text!r}: {what} must be numbers in [{low:g}, {high:g}], "
                                             f"comma-separated, e.g. {low:g},{(low + high) / 2:g}")
        return values
    return parse


def names(choices: Iterable[str] | None = None, check: Callable[[str], None] | None = None,
          what: str = "names") -> _Type:
    """Comma-separated names: none empty, none repeated, each in ``choices`` or passing ``check``."""
    allowed = tuple(choices) if choices is not None else None

    def parse(text: str) -> list[str]:
        items = [x.strip() for x in text.split(",")]
        if not text.strip() or any(not x for x in items):
            raise _bad(text, f"give comma-separated {what} without empty entries, e.g. "
                             + (",".join(allowed[:2]) if allowed else "a,b"))
        repeated = sorted({x for x in items if items.count(x) > 1})
        if repeated:
            raise _bad(text, f"{', '.join(repeated)} listed more than once: give each of the {what} once")
        for x in items:
            if allowed is not None and x not in allowed:
                raise _bad(text, f"unknown {what[:-1] if what.endswith('s') else what} {x!r}: "
                                 f"choose from {', '.join(allowed)}")
            if check is not None:
                try:
                    check(x)
                except ValueError as exc:
                    raise argparse.ArgumentTypeError(str(exc)) from None
        return items

    parse.__name__ = "list of names"
    return parse


def output_dir(text: str) -> Path:
    """A folder to write into: may not exist yet, but must not be a file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise _bad(text, "is a file, not a folder: give a folder to write the outputs into (it is created "
                         "if missing)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise _bad(text, f"{parent} is a file, so no folder can be created under it: give another folder")
            break
    return path


def profile_option(parser: argparse.ArgumentParser) -> None:
    """``--profile``: the recorded profile a simulation command draws from (``None``: the packaged default)."""
    parser.add_argument("--profile", type=Path, default=None,
                        help="records.jsonl of `poq eval` (default: oracle/profiles/default/records.jsonl)")


def profile_pool(args: argparse.Namespace, evaluators: tuple[str, ...] | None = None):
    """The ``ProfilePool`` of ``--profile`` (the packaged default when not given), loaded once per command."""
    from oracle.simulation.record_pool import DEFAULT_PROFILE, load_pool

    return load_pool(args.profile or DEFAULT_PROFILE, evaluators)


def out_option(parser: argparse.ArgumentParser, default: Path) -> None:
    """``--out``: the folder a command writes its files into (created if missing)."""
    parser.add_argument("--out", type=output_dir, default=default, help=f"output folder (default {default})")


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        why = "is a folder" if path.is_dir() else "does not exist"
        raise _bad(text, f"{why}: give the path of an existing file")
    return path


# --------------------------------------------------------------------------- argv


# A value that looks like a (list of) negative number(s), which argparse would take for an option:
# -100,20,30  -1e30  -0.5  -inf
_NEGATIVE = re.compile(r"^-(\d|\.\d|inf|nan|infinity)[\w.,+\-]*$", re.IGNORECASE)


def value_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string, of the parser and all its subparsers, that takes exactly one value."""
    found: set[str] = set()
    stack = [parser]
    while stack:
        p = stack.pop()
        for action in p._actions:  # argparse has no public walk over its actions
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
            elif action.option_strings and action.nargs is None:
                found.update(s for s in action.option_strings if s.startswith("--"))
    return found


def join_negative_values(argv: Sequence[str], options: set[str]) -> list[str]:
    """``--opt -100,20,30`` -> ``--opt=-100,20,30`` for options that take one value.

    argparse reads a token starting with ``-`` as an option unless it is a plain negative number,
    so ``--inference-refs -100,20,30`` fails with "expected one argument" instead of reaching the
    option's validator. Joined, the validator sees the value and says what is wrong with it.
    """
    out: list[str] = []
    k = 0
    while k < len(argv):
        token = argv[k]
        if token == "--":
            out.extend(argv[k:])
            break
        if token in options and k + 1 < len(argv) and _NEGATIVE.match(argv[k + 1]):
            out.append(f"{token}={argv[k + 1]}")
            k += 2
            continue
        out.append(token)
        k += 1
    return out


# --------------------------------------------------------------------------- consoles

# Width of a console that is not a terminal (a pipe, a log file): wide enough that no table squeezes
# a node's name to "evaluat…"; tables also keep their name columns unwrapped (``name_column``).
PIPED_WIDTH = 200


def console(**kwargs):
    """A rich ``Console``: the terminal's width on a terminal, ``PIPED_WIDTH`` columns otherwise."""
    from rich.console import Console

    out = Console(**kwargs)
    if not out.is_terminal and "width" not in kwargs:
        out = Console(width=PIPED_WIDTH, **kwargs)
    return out


def name_column(table, header: str, names: Iterable[str], **kwargs) -> None:
    """Add a column of names that is never cut: as wide as its longest name, folded if it must be."""
    width = max([len(header), *(len(str(n)) for n in names)])
    table.add_column(header, no_wrap=True, overflow="fold", min_width=width, **kwargs)


def check_model(name: str) -> None:
    """``ValueError`` unless ``load_model`` can resolve ``name`` (checked without loading it)."""
    from oracle.pipeline.models import check_model_name

    try:
        check_model_name(name)
    except Exception as exc:  # UnknownModelError, or ModelFileError (a BackendError) for a missing .gguf path
        raise ValueError(str(exc)) from None


def check_evaluator(name: str) -> None:
    """``ValueError`` unless ``load_evaluator`` knows ``name`` (checked without loading it)."""
    from oracle.pipeline.quality import check_name

    check_name(name)


def _checked(check: Callable[[str], None], label: str) -> _Type:
    def parse(text: str) -> str:
        try:
            check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    parse.__name__ = label
    return parse


model_name = _checked(check_model, "model name")
evaluator_name = _checked(check_evaluator, "evaluator name")
