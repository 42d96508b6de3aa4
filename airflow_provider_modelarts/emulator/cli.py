"""``modelarts-emulator``: run the local ModelArts (v1 and v2 training jobs) + IAM + OBS emulator."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from pathlib import Path

from airflow_provider_modelarts.emulator import server


class _Defaults(argparse.HelpFormatter):
    """Appends ``(default: …)`` where the help does not say it already and there is a value to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelarts-emulator",
        description="A local, API-faithful Huawei Cloud ModelArts server — v1 and v2 training jobs, IAM, the "
                    "instance metadata service and OBS — that runs real training scripts, with a console at "
                    "URL/console and an admin API at URL/_emulator/ (both loopback only). Prints one JSON line "
                    "with its URL and credentials on start, then a ready-to-export AIRFLOW_CONN_MODELARTS_DEFAULT "
                    "on stderr.",
        epilog="Admin commands for a running emulator: modelarts-emulator jobs | faults list|set SPEC|clear | "
               "datasets list|add ID VERSION /bucket/dir/ (with --url URL or --root ROOT; --help on each).",
        formatter_class=_Defaults,
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind; keep loopback unless other machines must reach it "
                             "(the API always requires credentials; admin and console stay loopback-only)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--root", default=None,
                        help="state directory: state.sqlite, the local OBS under obs/, job logs (default: a new "
                             "temporary directory)")
    parser.add_argument("--region", default=server.DEFAULT_REGION, help="region id; also the IAM project name")
    parser.add_argument("--project-id", default=None, help="project id (default: random, kept under --root)")
    parser.add_argument("--ak", default=None, help="access key accepted for AK/SK signing (default: random on the "
                                                   "root's first start, then kept in ROOT/credentials.json)")
    parser.add_argument("--user", default=None, help="IAM user name for password auth (default: kept in the root)")
    parser.add_argument("--domain", default=None, help="account (domain) name of --user (default: kept in the root)")
    parser.add_argument("--fixed-credentials", action="store_true",
                        help="use the fixed, public example credentials instead of random ones (never on a shared "
                             f"machine). The secret key and password come from ${server.SK_ENV} and "
                             f"${server.PASSWORD_ENV} when set — never from the command line")
    parser.add_argument("--virtual-jobs", action="store_true",
                        help="run every job without a process: it follows its status timeline and writes synthetic "
                             "log lines (hyperparameters emulator_virtual_seconds, _lines, _exit_code shape it; "
                             "emulator_virtual_seconds alone makes one job virtual) — for scale tests")
    parser.add_argument("--no-metadata", action="store_true",
                        help="switch the instance metadata service (env auth credentials) off")
    parser.add_argument("--faults", default=None,
                        help="fault spec, e.g. 'create_job=drop/after#1; *=503@0.2; get_version=latency:5@0.1' "
                             "(ENDPOINT=FAULT[/before|after][@PROBABILITY][#COUNT]; FAULT is 429[:retry-after], "
                             "500, 502, 503, 504, drop or latency:SECONDS)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault injector's random generator")
    parser.add_argument("--max-running", type=int, default=64,
                        help="job versions running at once; the others wait in JOBSTAT_WAITING (7)")
    parser.add_argument("--step-delay", type=float, default=0.1, help="seconds between INIT, WAITING and RUNNING")
    parser.add_argument("--kill-grace", type=float, default=5.0, help="seconds between SIGTERM and SIGKILL on stop")
    parser.add_argument("--token-lifetime", type=float, default=86400.0, help="IAM token lifetime in seconds")
    parser.add_argument("--temp-key-lifetime", type=float, default=900.0,
                        help="lifetime of temporary AK/SK (metadata service, securitytokens) in seconds")
    parser.add_argument("--quiet", action="store_true", help="do not print the banner on stderr")
    return parser


ADMIN_COMMANDS = ("jobs", "faults", "datasets")


def build_admin_parser() -> argparse.ArgumentParser:
    """``modelarts-emulator jobs|faults|datasets …``: the admin API of a running emulator, from the shell."""
    parser = argparse.ArgumentParser(prog="modelarts-emulator", formatter_class=_Defaults,
                                     description="Talk to a running emulator's admin API (loopback only).")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--url", default=os.environ.get("MODELARTS_EMULATOR_URL"),
                       help="the emulator's URL (default: $MODELARTS_EMULATOR_URL, or the one written in --root)")
    where.add_argument("--root", default=None, help="the emulator's state directory (its URL is kept there)")
    where.add_argument("--json", action="store_true", help="print the admin API's JSON answer")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("jobs", parents=[where], help="list every job version, newest first")
    faults = commands.add_parser("faults", parents=[where], help="list, set or clear injected faults")
    fault_actions = faults.add_subparsers(dest="action", required=True)
    fault_actions.add_parser("list", parents=[where])
    fault_set = fault_actions.add_parser("set", parents=[where])
    fault_set.add_argument("spec", help="e.g. 'get_version=503#2; *=latency:0.5@0.1' (see --help of the server)")
    fault_set.add_argument("--seed", type=int, default=None)
    fault_actions.add_parser("clear", parents=[where])
    datasets = commands.add_parser("datasets", parents=[where], help="list or add datasets")
    dataset_actions = datasets.add_subparsers(dest="action", required=True)
    dataset_actions.add_parser("list", parents=[where])
    dataset_add = dataset_actions.add_parser("add", parents=[where])
    dataset_add.add_argument("dataset_id")
    dataset_add.add_argument("version_id")
    dataset_add.add_argument("obs_path", help="the dataset version's OBS directory, /bucket/dir/")
    return parser


def admin_main(argv: list[str]) -> None:
    import json

    args = build_admin_parser().parse_args(argv)
    url = args.url
    if not url and args.root and (Path(args.root) / server.URL_FILE).is_file():
        url = (Path(args.root) / server.URL_FILE).read_text().strip()
    if not url:
        sys.exit("modelarts-emulator: which emulator? Give --url, --root or $MODELARTS_EMULATOR_URL")
    calls = {("jobs", None): ("GET", "/_emulator/jobs", None),
             ("faults", "list"): ("GET", "/_emulator/faults", None),
             ("faults", "set"): ("POST", "/_emulator/faults", {"spec": getattr(args, "spec", None),
                                                                 "seed": getattr(args, "seed", None)}),
             ("faults", "clear"): ("POST", "/_emulator/faults", {"spec": None}),
             ("datasets", "list"): ("GET", "/_emulator/datasets", None),
             ("datasets", "add"): ("POST", "/_emulator/datasets", {
                 "dataset_id": getattr(args, "dataset_id", None), "version_id": getattr(args, "version_id", None),
                 "obs_path": getattr(args, "obs_path", None)})}
    method, path, body = calls[(args.command, getattr(args, "action", None))]
    try:
        answer = server.admin_request(url, method, path, body)
    except (ValueError, OSError) as err:
        sys.exit(f"modelarts-emulator: {url}{path}: {err}")
    if args.json or method == "POST":
        print(json.dumps(answer, indent=1))
    elif args.command == "jobs":
        for job in answer["jobs"]:
            ident = job["training_job_id"] or f"{job['job_id']}/{job['version_id']} {job['version_name']}"
            print(f"{job['api_version']}  {job['status_name']:<20} {job['job_name']:<40} {ident}")
        print(f"{answer['total']} job version(s)")
    elif args.command == "faults":
        for fault in answer["faults"]:
            print(json.dumps(fault))
        print(f"{len(answer['faults'])} rule(s), fired {answer['fired']} time(s)")
    else:
        for dataset in answer["datasets"]:
            print(f"{dataset['dataset_id']}  {dataset['version_id']}  {dataset['obs_path']}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ADMIN_COMMANDS:
        admin_main(argv)
        return
    args = build_parser().parse_args(argv)
    import importlib.util

    missing = [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:  # Airflow 3 ships both; on Airflow 2 they come with the [emulator] extra
        sys.exit(f"modelarts-emulator needs {' and '.join(missing)}: pip install "
                 "'airflow-provider-modelarts[emulator]'")
    root = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="modelarts-emulator-"))
    root.mkdir(parents=True, exist_ok=True)
    marker = root / "project_id"
    project_id = args.project_id or (marker.read_text().strip() if marker.exists() else secrets.token_hex(16))
    marker.write_text(project_id)
    creds, created = server.resolve_credentials(root, ak=args.ak, sk=os.environ.get(server.SK_ENV), user=args.user,
                                                password=os.environ.get(server.PASSWORD_ENV), domain=args.domain,
                                                fixed=args.fixed_credentials)
    try:
        server.serve(host=args.host, port=args.port, root=root, region=args.region, project_id=project_id,
                     ak=creds["ak"], sk=creds["sk"], user=creds["user"], password=creds["password"],
                     domain=creds["domain"], show_secrets=created, metadata_service=not args.no_metadata,
                     virtual_jobs=args.virtual_jobs,
                     faults=args.faults, seed=args.seed, max_running=args.max_running, step_delay=args.step_delay,
                     kill_grace=args.kill_grace, token_lifetime=args.token_lifetime,
                     temp_key_lifetime=args.temp_key_lifetime, quiet=args.quiet)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
