"""The emulator's state: one SQLite file under the root, so jobs survive a restart."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_name TEXT NOT NULL UNIQUE,
    job_desc TEXT NOT NULL DEFAULT '',
    workspace_id TEXT NOT NULL DEFAULT '0',
    create_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    version_id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    version_name TEXT NOT NULL,
    pre_version_id INTEGER,
    status INTEGER NOT NULL,
    job_desc TEXT NOT NULL DEFAULT '',
    config TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    start_time INTEGER,
    end_time INTEGER,
    error_result TEXT
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, user_name TEXT, domain_name TEXT, project_id TEXT, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS temp_keys (
    access TEXT PRIMARY KEY, secret TEXT NOT NULL, security_token TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS datasets (
    dataset_id TEXT NOT NULL, version_id TEXT NOT NULL, obs_path TEXT NOT NULL, PRIMARY KEY (dataset_id, version_id)
);
"""

#: First ids handed out, shaped like real ones (S-cn app case: job 567524, version 1108482).
FIRST_JOB_ID = 567500
FIRST_VERSION_ID = 1108400
RUNNING_STATES = (0, 1, 2, 4, 7, 8, 9, 15, 18, 19, 20)


def now_ms() -> int:
    return int(time.time() * 1000)


class Store:
    """Thread-safe access to the state file (the server's event loop and its helper threads share it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        with self._lock:
            for table, first in (("jobs", FIRST_JOB_ID), ("versions", FIRST_VERSION_ID)):
                row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name=?", (table,)).fetchone()
                if row is None:
                    self.db.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)", (table, first))

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self.db.execute(sql, params)

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        with self._lock:
            row = self.db.execute(sql, params).fetchone()
        return dict(row) if row else None

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.db.execute(sql, params).fetchall()]

    # ------------------------------------------------------------------ jobs / versions
    def job(self, job_id: int) -> dict[str, Any] | None:
        return self.one("SELECT * FROM jobs WHERE job_id=?", (job_id,))

    def job_by_name(self, name: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM jobs WHERE job_name=?", (name,))

    def version(self, job_id: int, version_id: int) -> dict[str, Any] | None:
        row = self.one("SELECT * FROM versions WHERE job_id=? AND version_id=?", (job_id, version_id))
        if row:
            row["config"] = json.loads(row["config"])
        return row

    def versions(self, job_id: int) -> list[dict[str, Any]]:
        rows = self.all("SELECT * FROM versions WHERE job_id=? ORDER BY version_id DESC", (job_id,))
        for row in rows:
            row["config"] = json.loads(row["config"])
        return rows

    def create_job(self, name: str, desc: str, workspace_id: str) -> int:
        with self._lock:
            cur = self.db.execute("INSERT INTO jobs(job_name, job_desc, workspace_id, create_time) VALUES (?,?,?,?)",
                                  (name, desc, workspace_id, now_ms()))
            return int(cur.lastrowid)

    def create_version(self, job_id: int, config: dict[str, Any], desc: str, resource_id: str,
                       pre_version_id: int | None) -> dict[str, Any]:
        with self._lock:
            count = self.db.execute("SELECT COUNT(*) FROM versions WHERE job_id=?", (job_id,)).fetchone()[0]
            highest = self.db.execute("SELECT version_name FROM versions WHERE job_id=? ORDER BY version_id DESC "
                                      "LIMIT 1", (job_id,)).fetchone()
            number = max(count, int(highest[0][1:]) if highest else 0) + 1
            cur = self.db.execute(
                "INSERT INTO versions(job_id, version_name, pre_version_id, status, job_desc, config, resource_id, "
                "create_time) VALUES (?,?,?,?,?,?,?,?)",
                (job_id, f"V{number:04d}", pre_version_id, 1, desc, json.dumps(config), resource_id, now_ms()))
            version_id = int(cur.lastrowid)
        return self.version(job_id, version_id)  # type: ignore[return-value]

    def set_status(self, version_id: int, status: int, *, error: str | None = None) -> None:
        fields, params = ["status=?"], [status]
        if status == 8:
            fields.append("start_time=COALESCE(start_time, ?)")
            params.append(now_ms())
        if status in (10, 11, 12, 13, 14):
            fields.append("end_time=COALESCE(end_time, ?)")
            params.append(now_ms())
        if error:
            fields.append("error_result=?")
            params.append(error)
        self.execute(f"UPDATE versions SET {', '.join(fields)} WHERE version_id=?", (*params, version_id))

    def status(self, version_id: int) -> int | None:
        row = self.one("SELECT status FROM versions WHERE version_id=?", (version_id,))
        return row["status"] if row else None

    def mark_lost(self) -> int:
        """After a restart: versions whose processes died with the old server are LOST (14)."""
        marks = ",".join("?" * len(RUNNING_STATES))
        cur = self.execute(f"UPDATE versions SET status=14, end_time=?, error_result='worker processes lost "
                           f"(emulator restarted)' WHERE status IN ({marks})", (now_ms(), *RUNNING_STATES))
        return cur.rowcount
