"""Issue 11, cases 5-7: every option is validated when it is parsed, and a user's mistake is one line.

Each test reproduces one reported case (on dff63f8 it hung, crashed with a traceback, or silently did
something else) and checks the new behaviour: argparse's ``error: argument --OPT: <value>: <fix>``
(exit code 2) at parse time, or ``poq: error: <message>`` (exit code 2) for what only a command can
find out, with the traceback only under ``--debug``. No test loads a model or starts a chain.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from oracle.protocol.params import UINT64_MAX
from poq.main import main

REPO = Path(__file__).resolve().parent.parent


def _parse_error(capsys, argv: list[str]) -> str:
    """Run ``poq argv``, expect argparse to refuse it (exit 2); the error text."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def _poq(*argv: str, timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``poq`` as a subprocess (what shows a hang or a printed traceback)."""
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "poq", *argv], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or REPO, env=env)


def _dead_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------------------------------- case 5
# `poq requester`: budgets that retried forever, --parallel that hung, --slots/--committee 0 replaced by the
# defaults, --rounds -1 "settled".


@pytest.mark.parametrize("budget", ["-1", "1e30", "0", "nan", "inf", "-1e30", "1e-19", "lots"])
def test_oracle_refuses_a_budget_it_could_never_pay(capsys, budget):
    err = _parse_error(capsys, ["requester", "--budget-eth", budget])
    assert f"argument --budget-eth: {budget!r}" in err
    assert "give" in err  # the fix


def test_oracle_budget_is_converted_to_wei_exactly():
    from poq import options

    assert options.eth_to_wei(options.positive_eth("1")) == 10**18
    assert options.eth_to_wei(options.positive_eth("0.1")) == 10**17
    assert options.eth_to_wei(options.positive_eth("1e-18")) == 1
    assert options.positive_eth("79228162513") == 79228162513.0  # just below 2^96 wei


@pytest.mark.parametrize(("option", "value"), [("--parallel", "0"), ("--parallel", "-3"), ("--slots", "0"),
                                               ("--committee", "0"), ("--rounds", "-1"), ("--slots", "65"),
                                               ("--committee", "17"), ("--limit", "0"), ("--poll", "0"),
                                               ("--poll", "nan"), ("--rounds", "two")])
def test_oracle_refuses_counts_it_would_hang_on_or_replace(capsys, option, value):
    err = _parse_error(capsys, ["requester", option, value])
    assert f"argument {option}: {value!r}" in err


def test_oracle_rounds_hang_is_gone(tmp_path):
    """--parallel 0 used to hang with a chain behind it; it is now refused before anything starts."""
    proc = _poq("requester", "--parallel", "0", "--deployment", str(tmp_path / "none.json"), timeout=30)
    assert proc.returncode == 2
    assert "argument --parallel: '0'" in proc.stderr and "Traceback" not in proc.stderr


class _FakeCall:
    def __init__(self, value):
        self.value = value

    def call(self):
        return self.value


class _FakeClient:
    """Just what ``plan_rounds`` and ``check_funds`` read from a PoQClient."""

    address = "0x" + "ab" * 20

    def __init__(self, evaluators: int, balance: int = 10**22):
        functions = argparse.Namespace(evaluatorSet=lambda: _FakeCall(["0x"] * evaluators))
        self.contract = argparse.Namespace(functions=functions)
        self.w3 = argparse.Namespace(eth=argparse.Namespace(get_balance=lambda address: balance))


class _FakeDeployment:
    path = Path("deployment.json")

    def accounts_by_role(self, role):
        return ["a", "b"] if role == "inference" else []


def test_requester_uses_the_slots_and_committee_given_and_refuses_what_the_chain_cannot_seat():
    from node.requester import plan_rounds
    from oracle.errors import UsageError

    plan = plan_rounds(_FakeDeployment(), _FakeClient(evaluators=5), 10**18)
    assert (plan.slots, plan.committee_size, plan.budget) == (2, 3, 10**18)
    plan = plan_rounds(_FakeDeployment(), _FakeClient(evaluators=5), 5 * 10**17, slots=1, committee=1)
    assert (plan.slots, plan.committee_size, plan.budget) == (1, 1, 5 * 10**17)
    # More evaluators than are registered: the contract reverts every openRound, so refuse it up front.
    with pytest.raises(UsageError, match="--committee 4: only 3 evaluator"):
        plan_rounds(_FakeDeployment(), _FakeClient(evaluators=3), 10**18, committee=4)


def test_requester_refuses_a_budget_above_the_requester_balance():
    from node.requester import check_funds
    from oracle.errors import UsageError

    check_funds(_FakeClient(3, balance=2 * 10**18), "0x1", 10**18)
    with pytest.raises(UsageError, match="holds only 0.5 ETH, less than one round's budget"):
        check_funds(_FakeClient(3, balance=5 * 10**17), "0x1", 10**18)


# ----------------------------------------------------------------------------------------------------- case 6
# `poq simulate`.


def _profile(tmp_path: Path, tasks: int = 3) -> Path:
    """A small profile in the format `poq eval` records: two models, evaluators sts and cross, token F1."""
    from oracle.pipeline.records import EvaluatorCost, ProfileRecord, write_lines

    records = []
    for t in range(tasks):
        for m, (quality, latency, tokens, memory) in {"good": (0.8, 400, 12, 900),
                                                      "poor": (0.4, 2_000, 40, 2_000)}.items():
            scores = {"sts": quality, "cross": quality - 0.1, "token_f1": quality}
            costs = {"sts": EvaluatorCost(8.0, 60, 300.0), "cross": EvaluatorCost(40.0, 120, 500.0),
                     "token_f1": EvaluatorCost(0.05, tokens, 50.0)}
            records.append(ProfileRecord(task_id=f"q{t}", kind="qa", source="test", template="qa-v1", model=m,
                                         output=f"{m} answer {t}", latency_ms=latency + t, prompt_tokens=80,
                                         output_tokens=tokens, peak_memory_mb=memory, scores=scores,
                                         evaluator_costs=costs))
    path = tmp_path / "records.jsonl"
    write_lines(path, records)
    return path


def _simulate(tmp_path: Path, profile: Path, *extra: str) -> list[str]:
    return ["simulate", "--profile", str(profile), "--rounds", "20", "--out", str(tmp_path / "out"), *extra]


def test_simulate_refuses_an_evaluator_listed_twice(tmp_path, capsys):
    from oracle.simulation.record_pool import ProfileError, load_pool

    err = _parse_error(capsys, ["simulate", "--evaluators", "minilm-bi,minilm-bi", "--committee", "2"])
    assert "minilm-bi listed more than once" in err
    profile = _profile(tmp_path)
    with pytest.raises(ProfileError, match="sts listed more than once"):
        load_pool(profile, ("sts", "sts"))


def _rewrite_first(profile: Path, change) -> Path:
    lines = profile.read_text().splitlines()
    record = json.loads(lines[0])
    changed = change(record)
    lines[0] = changed if isinstance(changed, str) else json.dumps(record)
    profile.write_text("\n".join(lines) + "\n")
    return profile


@pytest.mark.parametrize(("change", "field"), [
    (lambda r: r.update(latency_ms="fast"), "latency_ms"),
    (lambda r: r.update(output_tokens=None), "output_tokens"),
    (lambda r: r.update(latency_ms=float("inf")), "Infinity"),  # json.dumps writes the literal Infinity
    (lambda r: r.update(peak_memory_mb=10**80), "peak_memory_mb"),
    (lambda r: r["evaluator_costs"].update(sts=[1, 2, 3]), "evaluator_costs.sts"),
    (lambda r: r["evaluator_costs"]["sts"].update(tokens=None), "evaluator_costs.sts.tokens"),
    (lambda r: r["scores"].update(sts="high"), "scores.sts"),
    (lambda r: json.dumps([r]), "expected a JSON object"),
    (lambda r: r.update(model=7), "model"),
    (lambda r: r.update(output_tokens=2.5), "output_tokens"),
], ids=["str-latency", "null-tokens", "infinity", "uint64-overflow", "list-for-cost", "null-cost-tokens",
        "str-score", "list-for-record", "int-model", "fractional-tokens"])
def test_simulate_names_the_file_line_and_field_of_a_bad_profile_record(tmp_path, capsys, change, field):
    profile = _rewrite_first(_profile(tmp_path), change)
    assert main(_simulate(tmp_path, profile)) == 2
    out = capsys.readouterr()
    printed = " ".join((out.out + out.err).split())  # the console may wrap the line
    assert f"{profile}:1" in printed.replace(" ", "") or f"{profile}:1" in printed
    assert field in printed


def test_profile_measures_fit_the_contracts_uint64_through_every_sum(tmp_path):
    """The pool's suggested references are slots x p90: with measures bounded, they fit uint64 too."""
    from oracle.protocol.params import Params
    from oracle.simulation.record_pool import MAX_MEASURE, load_pool

    profile = _profile(tmp_path)
    big = [json.loads(line) for line in profile.read_text().splitlines()]
    for r in big:
        r["latency_ms"] = MAX_MEASURE
        for cost in r["evaluator_costs"].values():
            cost["latency_ms"] = MAX_MEASURE
    profile.write_text("".join(json.dumps(r) + "\n" for r in big))
    base = Params()
    inf, ev = load_pool(profile).suggested_cost_models(64, base.inference_cost, base.evaluator_cost)
    assert max(inf.as_tuple() + ev.as_tuple()) <= UINT64_MAX


@pytest.mark.parametrize("refs", ["1" + "0" * 80 + ",20,30", "18446744073709551616,1,1", "0,1,1", "-100,20,30",
                                  "1,2", "a,b,c"])
def test_simulate_refuses_cost_references_the_contract_cannot_store(capsys, refs):
    err = _parse_error(capsys, ["simulate", "--inference-refs", refs])
    assert "argument --inference-refs" in err and "expected one argument" not in err
    assert "uint64" in err


def test_simulate_largest_cost_reference_is_accepted():
    from poq.commands.simulate import _refs

    assert _refs("18446744073709551615,1,1") == (UINT64_MAX, 1, 1)


def test_simulate_bounds_rounds_and_reports_progress_while_drawing_and_building(tmp_path, capsys):
    from oracle.simulation.engine import MAX_ROUNDS, SimulationConfig, draw_rounds
    from oracle.simulation.record_pool import load_pool
    from oracle.simulation.reference_backend import ReferenceBackend
    from oracle.simulation.scenarios import scenarios
    from poq.commands.simulate import _settlements

    err = _parse_error(capsys, ["simulate", "--rounds", str(10**12)])
    assert f"argument --rounds: '{10**12}'" in err and f"1 to {MAX_ROUNDS}" in err
    assert _parse_error(capsys, ["simulate", "--rounds", "0"])
    with pytest.raises(ValueError, match="--rounds"):
        SimulationConfig(rounds=MAX_ROUNDS + 1).validate(None)

    pool = load_pool(_profile(tmp_path))
    drawn, built = [], []
    draws = draw_rounds(pool, SimulationConfig(rounds=1_200), lambda done, total: drawn.append((done, total)))
    assert drawn[-1] == (1_200, 1_200) and len(drawn) >= 3
    settlements = _settlements(pool, draws, 0, ReferenceBackend())
    settlements.on_build = lambda done, total: built.append((done, total))
    assert len(settlements.rounds(scenarios(pool)["honest"])) == 1_200
    assert built[-1] == (1_200, 1_200) and len(built) >= 3


def test_simulate_out_naming_a_file_is_refused(tmp_path, capsys):
    existing = tmp_path / "summary.json"
    existing.write_text("{}")
    err = _parse_error(capsys, ["simulate", "--out", str(existing)])
    assert "is a file, not a folder" in err
    err = _parse_error(capsys, ["simulate", "--out", str(existing / "sub")])
    assert "is a file, so no folder can be created under it" in err


def test_simulate_rpc_to_a_dead_port_is_one_line(tmp_path, capsys):
    url = f"http://127.0.0.1:{_dead_port()}"
    assert main(_simulate(tmp_path, _profile(tmp_path), "--backend", "anvil", "--rpc", url)) == 2
    err = capsys.readouterr().err
    assert f"--rpc {url}: no JSON-RPC server answers there" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_simulate_rpc_without_the_anvil_backend_is_refused(tmp_path, capsys):
    url = f"http://127.0.0.1:{_dead_port()}"
    assert main(_simulate(tmp_path, _profile(tmp_path), "--rpc", url)) == 2
    err = capsys.readouterr().err
    assert "is only used by --backend anvil" in err
    assert not (tmp_path / "out").exists()


def test_simulate_still_runs_with_valid_options(tmp_path, capsys):
    assert main(_simulate(tmp_path, _profile(tmp_path), "--evaluators", "sts,cross", "--committee", "2",
                          "--inference-refs", "5000,256,4096")) == 0
    assert (tmp_path / "out" / "summary.json").exists()


# ----------------------------------------------------------------------------------------------------- case 7
# Tracebacks for user errors, and input that was silently ignored.


def _bad_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "squad.jsonl"
    path.write_text('{"id": "a", "context": "c", "question": "q", "answers": ["x"]}\n{not json\n')
    return path


def test_eval_bad_jsonl_line_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    argv = ["eval", "--tasks", "squad", "--data", str(_bad_jsonl(tmp_path)), "--models", "smollm2-135m",
            "--evaluators", "token_f1", "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "poq: error:" in err and "squad.jsonl:2: not valid JSON" in err
    assert "Traceback" not in err
    for debug in (["--debug", *argv], [*argv, "--debug"]):  # before or after the command's name
        assert main(debug) == 2
        err = capsys.readouterr().err
        assert "Traceback" in err and "squad.jsonl:2: not valid JSON" in err


def test_eval_bad_jsonl_line_has_no_traceback_in_a_real_process(tmp_path):
    proc = _poq("eval", "--tasks", "squad", "--data", str(_bad_jsonl(tmp_path)), "--models", "smollm2-135m",
                "--evaluators", "token_f1", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("poq: error: ")


@pytest.mark.parametrize(("argv", "expected"), [
    (["--data", "/nonexistent/squad.jsonl", "--tasks", "squad"], "argument --data: '/nonexistent/squad.jsonl': "
                                                                 "does not exist"),
    (["--models", "nonsense"], "unknown model 'nonsense'"),
    (["--models", "smollm2-135m,smollm2-135m"], "smollm2-135m listed more than once"),
    (["--evaluators", "rouge"], "unknown evaluator 'rouge'"),
    (["--tasks", "squadd"], "unknown task source 'squadd'"),
    (["--tasks", "builtin,"], "without empty entries"),
    (["--chunk-size", "0"], "argument --chunk-size: '0'"),
    (["--limit", "0"], "argument --limit: '0'"),
    (["--max-new-tokens", "0"], "argument --max-new-tokens: '0'"),
    (["--batch-size", "-1"], "argument --batch-size: '-1'"),
    (["--threads", "0"], "argument --threads: '0'"),
    (["--sweep", "1,0"], "argument --sweep: '1,0'"),
], ids=["missing-file", "unknown-model", "model-twice", "unknown-evaluator", "bad-tasks", "empty-task",
        "chunk-size-0", "limit-0", "max-new-tokens-0", "batch-size", "threads-0", "sweep-0"])
def test_eval_refuses_bad_options_before_any_work(tmp_path, capsys, argv, expected):
    out = tmp_path / "out"
    # argparse stops at the first bad option, so the trailing unknown evaluator is never reached here; on
    # dff63f8, which took most of these options, it stops the run before a model loads.
    guard = [] if "--evaluators" in argv else ["--evaluators", "no-such-evaluator"]
    err = _parse_error(capsys, ["eval", *argv, "--out", str(out), *guard])
    assert expected in err
    assert not out.exists()


def test_eval_resume_with_other_evaluators_is_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"evaluators": ["rouge_l"]}))
    assert main(["eval", "--models", "smollm2-135m", "--evaluators", "token_f1", "--out", str(out)]) == 2
    assert "drops ['rouge_l']: rerun with those --evaluators (more may be added) or choose a new --out" in \
        capsys.readouterr().err


def _deployment(tmp_path: Path, **changes) -> Path:
    data = {"chain_id": 31337, "address": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "deploy_block": 1,
            "rpc_url": f"http://127.0.0.1:{_dead_port()}", "password_file": "keys/password",
            "accounts": [{"name": n, "role": r, "address": "0x" + "11" * 20, "keystore": f"keys/{n}.json"}
                         for n, r in (("requester", "requester"), ("inference-1", "inference"),
                                      ("inference-2", "inference"), ("evaluator-1", "evaluator"))]}
    data.update(changes)
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(data))
    return path


def test_node_inference_with_an_unknown_model_is_refused_before_a_store_is_made(tmp_path, capsys):
    deployment = _deployment(tmp_path)
    err = _parse_error(capsys, ["node", "inference", "--model", "nonsense", "--node", "inference-1",
                                "--deployment", str(deployment)])
    assert "argument --model: unknown model 'nonsense'" in err
    assert not (tmp_path / "stores").exists()


@pytest.mark.parametrize(("option", "value"), [("--max-new-tokens", "0"), ("--threads", "-2"),
                                               ("--rpc", "localhost:8545"), ("--rpc", "http://127.0.0.1:99999")])
def test_node_refuses_bad_numbers_and_urls(tmp_path, capsys, option, value):
    err = _parse_error(capsys, ["node", "inference", "--model", "smollm2-135m", option, value])
    assert f"argument {option}: {value!r}" in err


def test_node_evaluator_on_an_inference_account_is_refused(tmp_path, capsys):
    deployment = _deployment(tmp_path)
    assert main(["node", "evaluator", "--evaluator", "token_f1", "--node", "inference-2",
                 "--deployment", str(deployment)]) == 2
    err = capsys.readouterr().err
    assert "--node inference-2" in err and "role 'inference'" in err and "evaluator-1" in err
    assert not (tmp_path / "stores").exists()


def test_node_evaluator_with_an_unknown_evaluator_is_refused(capsys):
    err = _parse_error(capsys, ["node", "evaluator", "--evaluator", "rouge"])
    assert "unknown evaluator 'rouge'" in err


@pytest.mark.parametrize(("content", "expected"), [
    ("[]", "holds a list, not a PoQ deployment"),
    ('"hello"', "holds a string, not a PoQ deployment"),
])
def test_a_deployment_file_that_is_not_an_object_is_one_line(tmp_path, capsys, content, expected):
    path = tmp_path / "deployment.json"
    path.write_text(content)
    assert main(["payouts", "--deployment", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


@pytest.mark.parametrize(("changes", "expected"), [
    ({"chain_id": "31337"}, "field 'chain_id' is a string (\"31337\"), not a whole number: write a whole number"),
    ({"deploy_block": 1.5}, "field 'deploy_block' is a number (1.5), not a whole number"),
    ({"chain_id": True}, "field 'chain_id' is true/false"),
    ({"rpc_url": None}, "field 'rpc_url' is null"),
    ({"accounts": {"a": 1}}, "field 'accounts' is an object"),
    ({"accounts": [["requester"]]}, "accounts[0] is a list"),
    ({"accounts": [{"name": "x", "role": "inference"}]}, "accounts[0] has no 'address'"),
])
def test_a_deployment_file_with_a_wrong_type_names_the_field(tmp_path, changes, expected):
    from oracle.chain.deployment import Deployment
    from oracle.errors import UsageError

    with pytest.raises(UsageError) as info:
        Deployment.load(_deployment(tmp_path, **changes))
    assert expected in str(info.value)


def test_a_deployment_with_a_missing_field_names_it(tmp_path):
    from oracle.chain.deployment import Deployment
    from oracle.errors import UsageError

    path = _deployment(tmp_path)
    data = json.loads(path.read_text())
    del data["address"]
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="field 'address' is missing"):
        Deployment.load(path)


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_explorer_port_out_of_range_is_refused(capsys, port):
    err = _parse_error(capsys, ["explorer", "--port", port])
    assert f"argument --port: {port!r}" in err and "65535" in err


def test_explorer_port_zero_still_means_a_free_one(capsys):
    from poq import options

    assert options.port_or_zero("0") == 0
    with pytest.raises(argparse.ArgumentTypeError):
        options.port("0")


def test_negative_csv_values_reach_the_validator(capsys):
    """`--inference-refs -100,20,30` was argparse's "expected one argument"; now the validator answers."""
    for argv in (["simulate", "--inference-refs", "-100,20,30"], ["simulate", "--inference-refs=-100,20,30"]):
        err = _parse_error(capsys, argv)
        assert "expected one argument" not in err
        assert "argument --inference-refs: '-100,20,30': -100 is out of range" in err
    err = _parse_error(capsys, ["requester", "--budget-eth", "-1e30"])
    assert "argument --budget-eth: '-1e30'" in err


def test_join_negative_values_only_joins_values_of_value_options():
    from poq import options

    opts = {"--inference-refs", "--budget-eth"}
    assert options.join_negative_values(["simulate", "--inference-refs", "-100,20,30", "--beta-sweep"], opts) == \
        ["simulate", "--inference-refs=-100,20,30", "--beta-sweep"]
    # A flag after a value option, or a value that is not numeric, is left to argparse.
    assert options.join_negative_values(["--budget-eth", "--debug"], opts) == ["--budget-eth", "--debug"]
    assert options.join_negative_values(["--other", "-1"], opts) == ["--other", "-1"]
    assert options.join_negative_values(["--", "--budget-eth", "-1"], opts) == ["--", "--budget-eth", "-1"]


def _payout_data() -> dict:
    def node(name, role):
        return {"node": name, "address": "0x" + "12" * 20, "role": role, "rounds": 3, "mean_score": 0.9,
                "mean_cost": 0.1, "mean_reward": 0.8, "paid_wei": 10**17, "slashed_wei": 0, "slashes": 0,
                "compensated_wei": 0}

    evaluators = [f"evaluator-{k}" for k in (1, 2, 3)]
    return {"contract": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "chain_id": 31337,
            "nodes": [node(n, "evaluator") for n in evaluators] + [node("inference-1", "inference")],
            "rounds": [{"round": 1, "kind": "qa", "stage": "Settled", "budget_wei": 10**18, "paid_wei": 10**18,
                        "refund_wei": 0,
                        "inference": [{"node": "inference-1", "quality": 0.9, "cost": 0.1, "reward": 0.8,
                                       "amount_wei": 10**17}],
                        "evaluators": [{"node": n, "agreement": 0.9, "cost": 0.1, "reward": 0.8,
                                        "amount_wei": 10**17} for n in evaluators],
                        "slashes": [], "compensation": [], "reference_withheld": False,
                        "matches_reference_model": True}]}


def test_payout_tables_keep_node_names_whole_when_piped():
    from poq.tables import render

    buffer = io.StringIO()
    render(_payout_data(), Console(file=buffer, width=80))  # rich's width when output is not a terminal
    text = buffer.getvalue()
    for name in ("evaluator-1", "evaluator-2", "evaluator-3", "inference-1"):
        assert name in text, text
    assert "evaluat…" not in text and "inferen…" not in text


def test_console_is_wide_when_not_a_terminal():
    from poq import options

    assert options.console(file=io.StringIO()).width == options.PIPED_WIDTH
    assert options.console(file=io.StringIO(), width=90).width == 90


# ----------------------------------------------------------------------------------------------- the machinery


def test_a_bug_keeps_its_traceback(monkeypatch):
    """Only user errors become one line: anything else is raised as it was."""
    from poq.commands import payouts

    def boom(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(payouts, "run", boom)
    with pytest.raises(ZeroDivisionError):
        main(["payouts"])


def test_every_int_option_is_validated_at_parse_time():
    """No subcommand takes a bare ``type=int`` count that could be 0 or negative unnoticed (only --seed)."""
    from poq.main import build_parser

    unchecked = []
    stack = [("poq", build_parser())]
    while stack:
        name, parser = stack.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend((f"{name} {k}", p) for k, p in action.choices.items())
            elif action.type in (int, float) and action.option_strings != ["--seed"]:
                unchecked.append(f"{name} {action.option_strings[0]}")
    assert unchecked == []
