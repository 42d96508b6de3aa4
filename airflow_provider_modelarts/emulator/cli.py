"""``modelarts-emulator``: run the local ModelArts (v1 and v2 training jobs) + IAM + OBS emulator."""

from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> None:
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
    import os

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
