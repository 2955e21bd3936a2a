"""The results store: SQLite in WAL mode, one row per design point keyed by its config hash.

Each finished point is written in its own transaction, so a sweep killed at any moment keeps
every point that finished and never leaves a half-written row. Sweeps sharing a store share the
work: a point is *claimed* (table ``claims``, owner ``HOST:PID``) before it runs, and a point
claimed by a live sweep is not run by another. A file that is not a results store is refused
before anything writes to it.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

from sim.config import ConfigError

FILENAME = "results.sqlite"
APPLICATION_ID = 0x65646761  # "edga": marks a file as an edgeaccel results store
POINTS_COLUMNS = ("key", "labels", "config", "result", "finished_at")
SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    labels TEXT NOT NULL,
    config TEXT NOT NULL,
    result TEXT NOT NULL,
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    claimed_at REAL NOT NULL
);
"""
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30.0


def owner_id() -> str:
    """This process as a claim owner: ``HOST:PID``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    """Whether the sweep that wrote ``owner`` may still run (other hosts: assumed alive)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_store_file(path: Path) -> None:
    """Refuse, without writing to it, a file at ``path`` that is not a results store."""
    if path.is_dir():
        raise ConfigError(path, "is a directory, expected a results store file")
    try:
        with path.open("rb") as stream:
            magic = stream.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise ConfigError(path, f"cannot be read: {error.strerror}") from None
    if magic != SQLITE_MAGIC:
        raise ConfigError(path, "not a results store (not an SQLite file); refusing to touch it",
                          allowed="a folder written by edgeaccel sweep")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            columns = tuple(row[1] for row in connection.execute("PRAGMA table_info(points)"))
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise ConfigError(path, f"damaged results store: {error}") from None
    ours = application_id == APPLICATION_ID or (
        application_id == 0 and tables <= {"points", "claims"} and columns == POINTS_COLUMNS)
    if not ours:
        raise ConfigError(path, "not a results store (another program's SQLite file); "
                          "refusing to touch it", allowed="a folder written by edgeaccel sweep")


def _create_store(path: Path) -> bool:
    """Make the store at ``path`` whole before anyone can see it: written under a name of this
    process's, then linked into place, which fails if another sweep's store got there first.
    True when this call made it. (A store opened in place is an empty file for a moment, and a
    second sweep starting then took it for another program's file.)"""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.new")
    try:
        connection = sqlite3.connect(scratch)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            with connection:
                connection.executescript(SCHEMA)
                connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        finally:
            connection.close()
        try:
            os.link(scratch, path)
        except FileExistsError:
            return False
        return True
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)


class ResultsStore:
    """``FOLDER/results.sqlite``; ``create`` makes the folder and the file when missing."""

    def __init__(self, folder: str | Path, create: bool = True) -> None:
        folder = Path(folder)
        self.path = folder / FILENAME
        self.owner = owner_id()
        if folder.exists() and not folder.is_dir():
            raise ConfigError(folder, "is a file, expected a results folder")
        existed = self.path.exists()
        if existed:
            check_store_file(self.path)
        elif not create:
            raise ConfigError(folder, f"no {FILENAME} in this folder (run a sweep first)")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not existed and not _create_store(self.path):
                existed = True  # another sweep made it first
                check_store_file(self.path)
            self.connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        except OSError as error:
            raise ConfigError(folder, f"cannot write: {error.strerror}") from None
        except sqlite3.Error as error:
            raise ConfigError(self.path, f"cannot open the results store: {error}") from None
        self.created = not existed
        with self._errors():
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            with self.connection:
                self.connection.executescript(SCHEMA)
                self.connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def _errors(self) -> _StoreErrors:
        return _StoreErrors(self.path)

    def close(self) -> None:
        self.connection.close()

    def remove(self) -> None:
        """Close and delete the store files (for a store this run created and then failed)."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def finished_keys(self) -> set[str]:
        with self._errors():
            return {row[0] for row in self.connection.execute("SELECT key FROM points")}

    def is_finished(self, key: str) -> bool:
        with self._errors():
            return self.connection.execute(
                "SELECT 1 FROM points WHERE key = ?", (key,)).fetchone() is not None

    def claim(self, key: str) -> bool:
        """Claim ``key`` for this process; False when it is finished or a live sweep has it."""
        with self._errors(), self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            if self.connection.execute("SELECT 1 FROM points WHERE key = ?",
                                       (key,)).fetchone():
                return False
            row = self.connection.execute("SELECT owner FROM claims WHERE key = ?",
                                          (key,)).fetchone()
            if row is not None and row[0] != self.owner and _owner_alive(row[0]):
                return False
            self.connection.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)",
                                    (key, self.owner, time.time()))
            return True

    def release_claims(self) -> None:
        """Drop every claim of this process (its points are finished or given up)."""
        with self._errors(), self.connection:
            self.connection.execute("DELETE FROM claims WHERE owner = ?", (self.owner,))

    def add(self, key: str, labels: dict[str, Any], config: dict[str, Any],
            result: dict[str, Any]) -> None:
        with self._errors(), self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?)",
                (key, json.dumps(labels, sort_keys=True), json.dumps(config, sort_keys=True),
                 json.dumps(result, sort_keys=True, allow_nan=False), time.time()),
            )
            self.connection.execute("DELETE FROM claims WHERE key = ?", (key,))

    def rows(self) -> list[dict[str, Any]]:
        """Every stored point: key, labels, config, result (parsed JSON), in insertion order."""
        with self._errors():
            cursor = self.connection.execute(
                "SELECT key, labels, config, result FROM points ORDER BY rowid")
            try:
                return [{"key": key, "labels": json.loads(labels), "config": json.loads(config),
                         "result": json.loads(result)}
                        for key, labels, config, result in cursor]
            except (TypeError, ValueError) as error:
                raise ConfigError(self.path, f"damaged results store: {error}") from None


class _StoreErrors:
    """A context that turns SQLite failures into one-line :class:`ConfigError`s."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, traceback: Any) -> bool:
        if isinstance(error, sqlite3.DatabaseError):
            raise ConfigError(self.path, f"damaged results store: {error}") from None
        if isinstance(error, sqlite3.Error):
            raise ConfigError(self.path, f"results store error: {error}") from None
        return False
