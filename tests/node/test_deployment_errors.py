"""Pointing a command at the wrong chain, a wrong address or a dead RPC fails with the value named."""

from __future__ import annotations

import json

import pytest

from oracle.chain import devnet
from oracle.chain.anvil import free_port
from poq.main import main


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    state = tmp_path_factory.mktemp("devnet-errors")
    d = devnet.up(state, inference=0, evaluators=0, log=lambda msg: None)
    yield d
    devnet.down(d.path, log=lambda msg: None)


def _variant(deployment, tmp_path, **changes):
    data = json.loads(deployment.path.read_text())
    data.update(changes)
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(data))
    return path


def _run(args, capsys) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def test_the_right_deployment_connects(deployment, capsys):
    code, err = _run(["payouts", "--json", "--deployment", str(deployment.path)], capsys)
    assert code == 0, err


def test_a_wrong_chain_id_is_named(deployment, tmp_path, capsys):
    code, err = _run(["payouts", "--deployment", str(_variant(deployment, tmp_path, chain_id=5))], capsys)
    assert code == 2 and "chain id 31337" in err and "chain id 5" in err


def test_an_address_without_poq_is_named(deployment, tmp_path, capsys):
    empty = "0x000000000000000000000000000000000000dEaD"
    code, err = _run(["payouts", "--deployment", str(_variant(deployment, tmp_path, address=empty))], capsys)
    assert code == 2 and f"no contract at {empty}" in err


def test_an_unreachable_rpc_is_named(deployment, tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, err = _run(["payouts", "--deployment", str(_variant(deployment, tmp_path, rpc_url=url))], capsys)
    assert code == 2 and f"RPC {url} is unreachable" in err


def test_a_daemon_without_a_configured_key_says_how_to_give_one(deployment, capsys):
    code, err = _run(["node", "evaluator", "--evaluator", "token_f1", "--deployment", str(deployment.path)], capsys)
    assert code == 2 and "--node NAME" in err and "--key-env VAR" in err
