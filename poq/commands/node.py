"""``poq node inference|evaluator``: run a node daemon against a deployed PoQ.

The daemon follows the contract's events from its stored block cursor, acts in
every round it can take, keeps everything it needs to reveal in its own store
(fsync'd before each commit), and resumes rounds in flight after a restart.
Its key is configured once: ``--node NAME`` (the keystore the deployment file
lists), ``--keystore PATH``, or ``--key-env VAR``; never on the command line.
Stop it with SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse

from poq.chain_args import add_daemon_args, fail, open_daemon, setup_errors
from poq.options import evaluator_name, model_name, positive_eth, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("node", help="run an inference or evaluator node daemon",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    roles = p.add_subparsers(dest="role", metavar="ROLE", required=True)
    inf = roles.add_parser("inference", help="answer every open round with a model")
    inf.add_argument("--model", required=True, type=model_name,
                     help="packaged model short name (e.g. smollm2-135m, qwen2.5-0.5b)")
    inf.add_argument("--max-new-tokens", type=positive_int, default=64, help="generation limit (default 64)")
    inf.add_argument("--threads", type=positive_int, default=None,
                     help="CPU threads for a llama.cpp model (default: all cores; 1 when daemons share few cores)")
    inf.add_argument("--min-slot-share-eth", type=positive_eth, default=None,
                     help="skip rounds whose slot share (inference pool / slots) is below this many ETH "
                          "(default 0.0001); rounds whose best pay would not cover the gas are skipped too")
    add_daemon_args(inf)
    inf.set_defaults(func=_run_inference)
    ev = roles.add_parser("evaluator", help="score every round whose committee this node sits on")
    ev.add_argument("--evaluator", required=True, type=evaluator_name,
                    help="evaluator name (e.g. token_f1, minilm-bi, minilm-onnx)")
    add_daemon_args(ev)
    ev.set_defaults(func=_run_evaluator)


def _serve(args: argparse.Namespace, role: str, what: str, load, serve) -> int:
    """Open the daemon for ``role``, load its component (``what``: model or evaluator), serve, close.

    A component that cannot load (missing or unpinned weights, an unknown name) is the user's to fix:
    one line and exit 2, after the daemon's checks of the chain and the store have passed.
    """
    from oracle.pipeline.backends.base import BackendError

    try:
        _, daemon = open_daemon(args, role)
    except setup_errors() as exc:
        return fail(exc)
    daemon.log.info("loading %s", what)
    try:
        component = load()
    except (BackendError, ValueError) as exc:  # ModelFileError, UnknownModelError: the weights, not a bug
        return fail(exc)
    try:
        serve(daemon, component)
    finally:
        component.close()
    return 0


def _run_inference(args: argparse.Namespace) -> int:
    from node import inference
    from oracle.pipeline.models import load_model
    from poq.options import eth_to_wei

    share = {"min_slot_share": eth_to_wei(args.min_slot_share_eth)} if args.min_slot_share_eth else {}
    return _serve(args, "inference", f"model {args.model}",
                  lambda: load_model(args.model, **({"n_threads": args.threads} if args.threads else {})),
                  lambda daemon, backend: inference.run(daemon, backend, args.model, args.max_new_tokens, **share))


def _run_evaluator(args: argparse.Namespace) -> int:
    from node import evaluator
    from oracle.pipeline.quality import load_evaluator

    return _serve(args, "evaluator", f"evaluator {args.evaluator}", lambda: load_evaluator(args.evaluator),
                  lambda daemon, ev: evaluator.run(daemon, ev, args.evaluator))
