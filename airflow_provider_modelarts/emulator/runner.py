"""Runs training job versions for real: worker processes, status walk, logs with cursors, local OBS."""

from __future__ import annotations

import asyncio
import bisect
import os
import re
import shlex
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_modelarts.emulator import catalog
from airflow_provider_modelarts.emulator.store import Store

#: Environment variables every worker gets (documented in the README):
#: rank and worker count under the names old ModelArts (DLS_*), new ModelArts (VC_TASK_INDEX, MA_NUM_HOSTS)
#: and torch.distributed (RANK, WORLD_SIZE) use.
RANK_VARS = ("DLS_TASK_INDEX", "VC_TASK_INDEX", "RANK")
COUNT_VARS = ("DLS_TASK_NUMBER", "MA_NUM_HOSTS", "WORLD_SIZE")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ILLEGAL_OBS_CHARS = re.compile(r"[\\:*?\"<>|\x00-\x1f]")


class ObsPathError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class LocalObs:
    """``/bucket/path`` ↔ ``<root>/obs/bucket/path``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def normalise(path: str) -> str:
        return "/" + path[len("obs://"):] if path.startswith("obs://") else path

    def local(self, path: str, *, field_name: str = "path", allow_bucket_root: bool = True) -> Path:
        if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
            raise ObsPathError("ModelArts.2608", f"Invalid OBS path '{path}'.")
        parts = [p for p in path.split("/") if p]
        if not parts or not _BUCKET_RE.match(parts[0]) or _ILLEGAL_OBS_CHARS.search(path) or ".." in parts:
            raise ObsPathError("ModelArts.2608", f"Invalid OBS path '{path}'.")
        if len(parts) == 1 and not allow_bucket_root:
            raise ObsPathError("ModelArts.2606", f"The {field_name} '{path}' must not be the root of a bucket.")
        return self.root.joinpath(*parts)


def log_file_name(job_name: str, index: int) -> str:
    """``job-<job name lower-cased, '_' → '-'>.<worker index>`` (§2.10)."""
    return f"job-{job_name.lower().replace('_', '-')}.{index}"


class _Index:
    """The parsed lines of one log file, extended with what was appended since (a file is only appended to)."""

    def __init__(self) -> None:
        self.offset = 0
        self.cursors: list[int] = []
        self.texts: list[str] = []


#: per log path: pages are read often and files only grow, so each byte is parsed once
_INDEXES: dict[Path, _Index] = {}
MAX_INDEXES = 256


class LogFile:
    """One worker's log: lines stored as ``<cursor>\\t<text>\\n``; cursors are strictly increasing nanoseconds.

    A line is what the job wrote between two newlines, exactly: a ``\\r`` inside it (a progress bar) is kept,
    and no line is cut or dropped, however long (the API reference documents no line limit).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last = 0
        self._handle: Any = None

    def append(self, text: str) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8", newline="\n")
        cursor = max(time.time_ns(), self._last + 1)
        self._last = cursor
        self._handle.write(f"{cursor}\t{text.replace(chr(10), ' ')}\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def read(self) -> tuple[list[int], list[str]]:
        index = _INDEXES.pop(self.path, None) or _Index()
        _INDEXES[self.path] = index  # most recently used last
        while len(_INDEXES) > MAX_INDEXES:
            del _INDEXES[next(iter(_INDEXES))]
        if not self.path.exists():
            return [], []
        with self.path.open("rb") as handle:
            handle.seek(index.offset)
            data = handle.read()
        complete = data.rfind(b"\n") + 1  # a line still being written is read next time
        for raw in data[:complete].split(b"\n")[:-1]:
            cursor, _, text = raw.decode("utf-8", "replace").partition("\t")
            if cursor.isdigit():
                index.cursors.append(int(cursor))
                index.texts.append(text)
        index.offset += complete
        return index.cursors, index.texts

    def text(self) -> str:
        return "".join(t + "\n" for t in self.read()[1])

    def page(self, *, base_line: str, lines: int, order: str) -> dict[str, Any]:
        """The aom-log semantics: no base_line → the latest lines; ``desc`` → after it; ``asc`` → before it."""
        cursors, texts = self.read()
        if not base_line:
            lo, hi = max(0, len(cursors) - lines), len(cursors)
        else:
            base = int(base_line)
            if order == "desc":
                lo = bisect.bisect_right(cursors, base)
                hi = min(len(cursors), lo + lines)
            else:
                hi = bisect.bisect_left(cursors, base)
                lo = max(0, hi - lines)
        if hi <= lo:
            return {"start_line": base_line, "end_line": base_line, "lines": 0, "content": ""}
        return {"start_line": str(cursors[lo]), "end_line": str(cursors[hi - 1]), "lines": hi - lo,
                "content": "\n".join(texts[lo:hi])}


@dataclass(frozen=True)
class VirtualPlan:
    seconds: float
    lines: int
    exit_code: int


#: hyperparameters (v1 ``parameter``, v2 ``parameters``/``environments``) that make one job virtual and shape it
VIRTUAL_PARAMS = ("emulator_virtual_seconds", "emulator_virtual_lines", "emulator_virtual_exit_code")


def virtual_plan(config: dict[str, Any], every_job: bool) -> VirtualPlan | None:
    """How a virtual job runs, or None for a real one: a job is virtual when the emulator runs every job so
    (``--virtual-jobs``) or when it sets ``emulator_virtual_seconds``; defaults 10 s and 10 lines, exit 0."""
    values = {str(p.get("label")): p.get("value") for p in config.get("parameter") or []}
    values.update({str(k): v for k, v in (config.get("environments") or {}).items()})
    if not every_job and VIRTUAL_PARAMS[0] not in values:
        return None
    try:
        return VirtualPlan(float(values.get(VIRTUAL_PARAMS[0], 10)), int(values.get(VIRTUAL_PARAMS[1], 10)),
                           int(values.get(VIRTUAL_PARAMS[2], 0)))
    except (TypeError, ValueError):
        return VirtualPlan(10.0, 10, 0)


def _decode(line: bytes) -> str:
    return line.removesuffix(b"\r").decode("utf-8", "replace")  # CRLF ends a line; a lone \r stays inside it


@dataclass
class Execution:
    version_id: int
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    stopping: bool = False
    task: asyncio.Task | None = None


class JobRunner:
    """Starts and watches worker processes inside the server's event loop (no polling threads)."""

    def __init__(self, store: Store, obs: LocalObs, logs_dir: Path, work_dir: Path, *, max_running: int = 64,
                 step_delay: float = 0.1, kill_grace: float = 5.0, virtual: bool = False) -> None:
        self.store = store
        #: every job virtual (no process: a timeline and synthetic log lines), for scale tests
        self.virtual = virtual
        self.obs = obs
        self.logs_dir = logs_dir
        self.work_dir = work_dir
        self.step_delay = step_delay
        self.kill_grace = kill_grace
        self._slots = asyncio.Semaphore(max_running)
        self.executions: dict[int, Execution] = {}
        self.pids_dir = work_dir.parent / "pids"
        self.pids_dir.mkdir(parents=True, exist_ok=True)
        kill_leftover_workers(self.pids_dir)

    def log_files(self, job: dict[str, Any], version: dict[str, Any]) -> dict[str, LogFile]:
        count = int(version["config"].get("worker_server_num") or 1)
        base = self.logs_dir / str(job["job_id"]) / str(version["version_id"])
        return {log_file_name(job["job_name"], i): LogFile(base / log_file_name(job["job_name"], i))
                for i in range(count)}

    def start(self, job: dict[str, Any], version: dict[str, Any]) -> None:
        execution = Execution(version["version_id"])
        self.executions[execution.version_id] = execution
        execution.task = asyncio.get_running_loop().create_task(self._run(execution, job, version))

    async def stop(self, version_id: int) -> None:
        execution = self.executions.get(version_id)
        if execution is None:
            return
        execution.stopping = True
        self.store.set_status(version_id, 9)
        for proc in execution.processes:
            _signal_group(proc, signal.SIGTERM)
        # TERM, then KILL after the grace period (as the platform does)
        asyncio.get_running_loop().call_later(
            self.kill_grace, lambda: [_signal_group(p, signal.SIGKILL) for p in execution.processes])

    async def _run(self, execution: Execution, job: dict[str, Any], version: dict[str, Any]) -> None:
        version_id = execution.version_id
        logs = list(self.log_files(job, version).values())
        try:
            await asyncio.sleep(self.step_delay)
            if execution.stopping:
                return
            self.store.set_status(version_id, 7)
            async with self._slots:
                if execution.stopping:
                    return
                await asyncio.sleep(self.step_delay)
                plan = virtual_plan(version["config"], self.virtual)
                if plan is not None:  # no process: the timeline and synthetic lines of a job
                    self.store.set_status(version_id, 8)
                    codes = await asyncio.gather(*(self._virtual(execution, plan, log) for log in logs))
                    execution.processes.clear()
                    commands = []
                else:
                    commands = [self._command(job, version, i) for i in range(len(logs))]
                for argv, cwd, env in commands:
                    proc = await asyncio.create_subprocess_exec(
                        *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                        stdin=asyncio.subprocess.DEVNULL, start_new_session=True, limit=1 << 20)
                    execution.processes.append(proc)
                    (self.pids_dir / str(proc.pid)).write_text(process_identity(proc.pid) or "")
                if plan is None:
                    if execution.stopping:  # stopped while the workers were starting
                        for proc in execution.processes:
                            _signal_group(proc, signal.SIGTERM)
                    else:
                        self.store.set_status(version_id, 8)
                    codes = await asyncio.gather(*(self._pump(p, log)
                                                   for p, log in zip(execution.processes, logs, strict=False)))
            failed = [(i, c) for i, c in enumerate(codes) if c != 0]
            if execution.stopping:
                return
            if failed:
                detail = "; ".join(f"worker-{i} exited with code {c}" for i, c in failed)
                self.store.set_status(version_id, 11, error=detail)
            else:
                self.store.set_status(version_id, 10)
        except Exception as err:  # a job that cannot start fails, it does not take the server down
            for log in logs[:1]:
                log.append(f"[emulator] cannot start the job: {type(err).__name__}: {err}")
            self.store.set_status(version_id, 11, error=f"{type(err).__name__}: {err}")
        finally:
            if execution.stopping:
                self.store.set_status(version_id, 12)
            for log in logs:
                log.close()
            self._copy_logs(job, version, logs)
            self.executions.pop(version_id, None)

    async def _virtual(self, execution: Execution, plan: VirtualPlan, log: LogFile) -> int:
        """A virtual worker: ``plan.lines`` synthetic lines spread over ``plan.seconds``, then its exit code."""
        step = plan.seconds / max(plan.lines, 1)
        for index in range(plan.lines):
            if execution.stopping:
                return 137
            log.append(f"virtual line {index} of {plan.lines}")
            await asyncio.sleep(step)
        if plan.lines == 0:
            await asyncio.sleep(plan.seconds)
        return 137 if execution.stopping else plan.exit_code

    async def _pump(self, proc: asyncio.subprocess.Process, log: LogFile) -> int:
        """Every byte the worker writes, split into lines at ``\\n`` only (``readline`` would drop the rest of a
        line longer than its limit)."""
        assert proc.stdout is not None
        pending = b""
        while True:
            chunk = await proc.stdout.read(1 << 16)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                log.append(_decode(line))
        if pending:
            log.append(_decode(pending))
        code = await proc.wait()
        (self.pids_dir / str(proc.pid)).unlink(missing_ok=True)
        return code

    def _command(self, job: dict[str, Any], version: dict[str, Any], index: int) -> tuple[list[str], str, dict]:
        config = version["config"]
        count = int(config.get("worker_server_num") or 1)
        inputs, outputs = self._channels(config)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HUAWEICLOUD"))}
        env.update({name: str(index) for name in RANK_VARS})
        env.update({name: str(count) for name in COUNT_VARS})
        env["PYTHONUNBUFFERED"] = "1"
        params = [(p["label"], str(p["value"])) for p in config.get("parameter") or []]
        env.update({str(k): str(v) for k, v in (config.get("environments") or {}).items()})
        # every channel as --<name>=<local dir> (v2 Input/Output access_method "parameter"; v1 data_url/train_url)
        arguments = [f"--{name}={path}" for name, path in inputs + outputs]
        arguments += [f"--{label}={value}" for label, value in params]
        if config.get("user_image_url"):
            command = config["user_command"]
            if config.get("parameters_as_arguments"):  # v2: channels and parameters appended to the command
                command += "".join(" " + shlex.quote(arg) for arg in arguments)
            else:  # v1: "a container environment variable when a training job uses a custom image"
                env.update(dict(params))
            env["DATA_URL"] = str(inputs[0][1]) if inputs else ""
            env["TRAIN_URL"] = str(outputs[0][1]) if outputs else ""
            env["MA_USER_IMAGE_URL"] = config["user_image_url"]
            work = self.work_dir / str(version["version_id"]) / str(index)
            work.mkdir(parents=True, exist_ok=True)
            if config.get("app_url"):  # the code directory is downloaded into user-job-dir/<its name>
                code = self.obs.local(config["app_url"])
                shutil.copytree(code, work / "user-job-dir" / code.name, dirs_exist_ok=True)
            return ["/bin/sh", "-c", command], str(work), env
        if config.get("model_id") is not None:
            algorithm = catalog.algorithm(int(config["model_id"]))
            assert algorithm is not None
            code_dir, boot = catalog.ALGORITHMS_DIR, catalog.ALGORITHMS_DIR / algorithm["script"]
        else:
            code_dir, boot = self.obs.local(config["app_url"]), self.obs.local(config["boot_file_url"])
        return [sys.executable, str(boot), *arguments], str(code_dir), env

    def _channels(self, config: dict[str, Any]) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
        """(input channels, output channels) as (name, local directory); outputs are created."""
        if "channels" in config:  # v2: the body's named channels, inputs in data_source order
            names = config["channels"]["inputs"]
            inputs = [(name, self._source_dir(source)) for name, source in zip(names, config["data_source"], strict=True)]
            outputs = [(name, self.obs.local(url)) for name, url in config["channels"]["outputs"]]
        else:
            inputs = [("data_url", self._data_dir(config))]
            outputs = [("train_url", self.obs.local(config["train_url"]))]
        for _, path in outputs:
            path.mkdir(parents=True, exist_ok=True)
        return inputs, outputs

    def _source_dir(self, source: dict[str, Any]) -> Path:
        if source.get("data_url"):
            return self.obs.local(source["data_url"])
        return self.obs.local(self._dataset_path(source["dataset_id"], source.get("dataset_version")))

    def _data_dir(self, config: dict[str, Any]) -> Path:
        if config.get("data_url"):
            return self.obs.local(config["data_url"])
        if config.get("dataset_id"):
            return self.obs.local(self._dataset_path(config["dataset_id"], config["dataset_version_id"]))
        for source in config.get("data_source") or []:
            return self._source_dir(source)
        raise ValueError("no data source")

    def _dataset_path(self, dataset_id: str, version_id: str | None) -> str:
        row = self.store.one("SELECT obs_path FROM datasets WHERE dataset_id=? AND version_id=?",
                             (dataset_id, version_id))
        if row is None:
            raise ValueError(f"dataset {dataset_id} version {version_id} not found")
        return row["obs_path"]

    def _copy_logs(self, job: dict[str, Any], version: dict[str, Any], logs: list[LogFile]) -> None:
        log_url = version["config"].get("log_url")
        if not log_url:
            return
        try:
            target = self.obs.local(log_url)
            target.mkdir(parents=True, exist_ok=True)
            for index, log in enumerate(logs):
                name = f"{version['resource_id']}-job-{job['job_name']}-{index}.log"
                (target / name).write_text(log.text(), encoding="utf-8")
        except (OSError, ValueError):
            pass

    async def shutdown(self) -> None:
        for execution in list(self.executions.values()):
            for proc in execution.processes:
                _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def process_identity(pid: int) -> str | None:
    """What tells a process apart from a later one that reuses its PID: its start time (clock ticks since boot,
    ``/proc/<pid>/stat`` field 22) and its session id (a worker leads its own session)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    return f"{fields[19]}:{fields[3]}"  # starttime, session


def kill_leftover_workers(pids_dir: Path) -> None:
    """Kill the process groups of workers a previous server left behind (it was killed, not stopped) — only
    when the PID still belongs to that worker (same start time and session): a reused PID is left alone."""
    for marker in pids_dir.glob("*"):
        if marker.name.isdigit():
            recorded = marker.read_text().strip() if marker.is_file() else ""
            pid = int(marker.name)
            if recorded and process_identity(pid) == recorded:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        marker.unlink(missing_ok=True)
