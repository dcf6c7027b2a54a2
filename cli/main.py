"""Entry point of the `detector` command: parse arguments, dispatch to one function each."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

from models import MODALITIES


def _serve(args: argparse.Namespace) -> int:
    from waitress import serve

    from api import create_app
    from cli.serving import (
        deadline_server,
        exit_on_sigterm,
        private_files,
        serve_metrics,
        serve_options,
    )
    from cli.stack import embedded_stack, inference_child, recover_jobs

    exit_on_sigterm()  # `kill` or a pod stop ends the inference child and the engine too
    private_files()  # var/: database, registry, media, logs readable by this user alone
    from workflows.scheduler import rescan_scheduler

    with embedded_stack() as cfg, inference_child(cfg) if args.inference else nullcontext():
        app = create_app()
        scheduler = rescan_scheduler(cfg)  # rescans on their schedule, retention (issue 13)
        if scheduler is not None:
            scheduler.start()
        warm_up = getattr(app.extensions["engine"], "warm_up", None)
        if warm_up is not None:  # load the models in the workers now, not on the first job
            warm_up(wait=False)
        recover_jobs(app.extensions["engine"])  # jobs a killed `detector serve` left behind
        app.extensions["webhooks"].start()  # callbacks left pending by a restart go out
        port = args.port or cfg.port
        metrics = serve_metrics(app, cfg.metrics_host, cfg.metrics_port)
        where = f"{cfg.metrics_host}:{metrics.server_port}" if metrics else "not started"
        print(f"detector API on http://{args.host}:{port}/, metrics {where}  (Ctrl-C stops)",
              flush=True)
        try:
            serve(app, _server=deadline_server,
                  **serve_options(cfg.limits, args.host, port, args.threads, "detector"))
        finally:
            if scheduler is not None:
                scheduler.stop()
            if metrics is not None:
                metrics.shutdown()
            engine = app.extensions.get("engine")
            if engine is not None and hasattr(engine, "shutdown"):
                engine.shutdown()
    return 0


def _read_password() -> str:
    stream = sys.stdin
    if stream.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat: "):
            raise SystemExit("passwords differ")
        return first
    return stream.readline().rstrip("\n")


def _users_create(args: argparse.Namespace) -> int:
    from cli.stack import embedded_stack
    from storage.db import get_db
    from storage.users import DuplicateUser, create_user

    password = _read_password()
    if len(password) < 8:
        print("error: the password needs at least 8 characters", file=sys.stderr)
        return 2
    with embedded_stack(register_models=False):
        try:
            user = create_user(get_db(), args.name, password, admin=args.admin)
        except DuplicateUser:
            print(f"error: user {args.name!r} exists", file=sys.stderr)
            return 1
        _audit_cli("user.created", target=user["user_id"], admin=args.admin)
    print(json.dumps({"user_id": user["user_id"], "name": user["name"], "admin": args.admin}))
    return 0


def _users_set_disabled(args: argparse.Namespace) -> int:
    """`users disable|enable NAME`: disabling revokes every token of the user at once."""
    from cli.stack import embedded_stack
    from storage.db import get_db
    from storage.users import get_user_by_name, update_user

    disabled = args.action == "disable"
    with embedded_stack(register_models=False):
        user = get_user_by_name(get_db(), args.name)
        if user is None:
            print(f"error: no user {args.name!r}", file=sys.stderr)
            return 1
        update_user(get_db(), user["user_id"], disabled=disabled)
        _audit_cli("user.updated", target=user["user_id"], disabled=disabled)
    print(json.dumps({"user_id": user["user_id"], "name": user["name"], "disabled": disabled}))
    return 0


def _detect(args: argparse.Namespace) -> int:
    from cli.detect import detect_paths
    from cli.stack import embedded_stack

    with embedded_stack():
        return detect_paths([Path(p) for p in args.paths], as_json=args.json, user=args.user)


def _scan(args: argparse.Namespace) -> int:
    from cli.scan import scan

    paths = [Path(p) for p in args.paths]
    output = Path(args.output) if args.output else None
    if args.api:  # a remote API: no local stack
        return scan(paths, args.recursive, args.format, output, api=args.api)
    from cli.stack import embedded_stack

    with embedded_stack() as cfg:
        return scan(paths, args.recursive, args.format, output, user=args.user, cfg=cfg)


def _train(args: argparse.Namespace) -> int:
    if args.workflow:
        return _train_workflow(args)
    from config import get_config
    from models.training.baseline import train_all

    metrics = train_all(out_dir=Path(args.out), seed=args.seed, quick=args.quick,
                        modalities=args.modality or None, jobs=args.jobs,
                        cache_dir=get_config().var_dir / "cache")
    print(json.dumps(metrics, indent=2, default=str))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """Leave-one-generator-out evaluation: evaluation.json, README.md and roc.png in --out."""
    from config import get_config
    from models.training.evaluate import evaluate, write_report

    report = evaluate(args.modality or list(MODALITIES), seed=args.seed, quick=args.quick,
                      jobs=args.jobs, weights_dir=args.weights,
                      cache_dir=get_config().var_dir / "cache")
    paths = write_report(report, args.out)
    summary = {m: {"held_out_auc": {g: f["auc"] for g, f in e["held_out"].items()},
                   "in_distribution_auc": e.get("in_distribution", {}).get("auc")}
               for m, e in report["modalities"].items()}
    print(json.dumps({"report": str(paths["markdown"]), "roc": str(paths["roc"]),
                      "seconds": report["seconds"], "modalities": summary}, indent=2))
    return 0


def _train_workflow(args: argparse.Namespace) -> int:
    """The training workflow (train -> register -> promote if better) on the local engine."""
    from cli.stack import embedded_stack
    from models import MODALITIES
    from workflows.local.walk import StepFailed
    from workflows.train import run_training_now

    with embedded_stack() as cfg:
        try:
            decisions = run_training_now(cfg, args.modality or list(MODALITIES), seed=args.seed,
                                         quick=args.quick)
        except StepFailed as exc:  # a step failed for good: say which and why
            print(f"error: training workflow failed: {exc}", file=sys.stderr)
            return 1
    for decision in decisions:
        print(json.dumps(decision, default=str))
    return 0


def _models_promote(args: argparse.Namespace) -> int:
    from cli.stack import embedded_stack
    from models.registry.promotion import modality_of, promote
    from models.registry.settings import RegistrySettings

    with embedded_stack(register_models=False) as cfg:
        try:
            promoted = promote(args.name, args.version, RegistrySettings.from_config(cfg),
                               record=_audit_cli)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(promoted), flush=True)
        if args.rescan:  # the media of that modality scored by any other version
            from cli.rescan import run
            from storage.rescan_select import Filters

            return run(cfg, Filters(modality=modality_of(args.name)), as_json=False)
    return 0


def cli_actor() -> str:
    """Who runs a command on this machine, as the audit trail names them: `os:<login>`."""
    import getpass

    return f"os:{getpass.getuser()}"


def _audit_cli(action: str, **details: object) -> None:
    """An audit event for a command run on this machine: the OS user, address "cli"."""
    from storage import audit
    from storage.db import get_db

    audit.record(get_db(), action, user_id=cli_actor(), address="cli", **details)


def _models_list(args: argparse.Namespace) -> int:
    from cli.stack import embedded_stack
    from models.registry.client import list_models
    from models.registry.settings import RegistrySettings

    with embedded_stack() as cfg:
        for row in list_models(RegistrySettings.from_config(cfg)):
            print(json.dumps(row))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="detector", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    for name in ("serve", "serve-api"):  # serve-api: the name the k8s Deployment uses
        p = sub.add_parser(name, help="serve the API and upload page (embedded stack if unset)")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
        p.add_argument("--threads", type=int, default=8)
        p.add_argument("--no-inference", dest="inference", action="store_false",
                       help="do not start the inference service (sync jobs use the engine)")
        p.set_defaults(func=_serve)

    users_parser = sub.add_parser("users", help="manage users")
    users = users_parser.add_subparsers(dest="action", required=True)
    create = users.add_parser("create", help="create a user; the password is read from stdin")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true")
    create.set_defaults(func=_users_create)
    for action, words in (("disable", "disable a user (its tokens stop working at once)"),
                          ("enable", "enable a disabled user (it logs in again)")):
        toggle = users.add_parser(action, help=words)
        toggle.add_argument("name")
        toggle.set_defaults(func=_users_set_disabled)

    detect = sub.add_parser("detect", help="score files with the detect workflow")
    detect.add_argument("paths", nargs="+")
    detect.add_argument("--json", action="store_true", help="one JSON result per line")
    detect.add_argument("--user", default="cli", help="owner of the media (created if missing)")
    detect.set_defaults(func=_detect)

    from cli.scan import FORMATS

    scan = sub.add_parser(
        "scan", help="score every supported file under paths; a summary at the end",
        description="Score every supported file under PATH... through the local engine, or a "
        "running API with --api (token in DETECTOR_TOKEN). Bytes the current champion scored "
        "already are not scored again. Exit status 0 whatever the verdicts, 1 on errors.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    scan.add_argument("paths", nargs="+", metavar="PATH", help="files and folders")
    scan.add_argument("--recursive", "-r", action="store_true", help="descend into folders")
    scan.add_argument("--format", choices=FORMATS, default="table")
    scan.add_argument("--output", "-o", metavar="FILE", help="write the rows here (not stdout)")
    scan.add_argument("--api", metavar="URL", help="a running API, e.g. http://127.0.0.1:8000")
    scan.add_argument("--user", default="cli", help="owner of the media (local scans)")
    scan.set_defaults(func=_scan)

    train = sub.add_parser("train", help="train the baseline models (seeded, reproducible)")
    train.add_argument("--out", default="models/weights")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quick", action="store_true", help="tiny data, one epoch (smoke run)")
    train.add_argument("--workflow", action="store_true",
                       help="run the training workflow: register a new version in MLflow and "
                       "promote it only if it beats the champion (default: write --out)")
    train.add_argument("--modality", action="append",
                       choices=MODALITIES)
    train.add_argument("--jobs", type=int, default=2,
                       help="worker processes, one modality each (default 2)")
    train.set_defaults(func=_train)

    evaluate = sub.add_parser(
        "evaluate", help="leave-one-source-family-out, leave-one-generator-out and robustness "
        "evaluation: a Markdown report, ROC curves and a reliability diagram")
    evaluate.add_argument("--out", default="docs/evaluation")
    evaluate.add_argument("--weights", default="models/weights",
                          help="weights scored for the in-distribution figures")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--quick", action="store_true", help="tiny data, one epoch")
    evaluate.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    evaluate.add_argument("--modality", action="append",
                          choices=MODALITIES)
    evaluate.set_defaults(func=_evaluate)

    models_parser = sub.add_parser("models", help="the model registry (MLflow)")
    models = models_parser.add_subparsers(dest="action", required=True)
    promote = models.add_parser("promote", help="make VERSION the champion of NAME")
    promote.add_argument("name", help="detector-image|detector-audio|detector-video|detector-text")
    promote.add_argument("version")
    promote.add_argument("--rescan", action="store_true",
                         help="then rescan that modality through the configured engine")
    promote.set_defaults(func=_models_promote)
    models.add_parser("list", help="every version, its aliases and tags").set_defaults(
        func=_models_list)

    from cli import media as media_cli
    from cli import rescan as rescan_cli
    from cli.examples import add_examples
    from cli.serving import register

    register(sub)
    rescan_cli.register(sub)
    media_cli.register(sub)
    add_examples(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a failure is one line on stderr (exit status 1), never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the user sees one line; DETECTOR_DEBUG the rest
        if os.environ.get("DETECTOR_DEBUG"):
            raise
        print(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
