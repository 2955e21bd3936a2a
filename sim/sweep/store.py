"""The results store: SQLite in WAL mode, one row per design point keyed by its config hash.

Each finished point is written in its own transaction, so a sweep killed at any moment keeps
every point that finished and never leaves a half-written row.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    labels TEXT NOT NULL,
    config TEXT NOT NULL,
    result TEXT NOT NULL,
    finished_at REAL NOT NULL
)
"""


class ResultsStore:
    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / "results.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(self.path)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        with self.connection:
            self.connection.execute(SCHEMA)

    def close(self) -> None:
        self.connection.close()

    def finished_keys(self) -> set[str]:
        return {row[0] for row in self.connection.execute("SELECT key FROM points")}

    def add(self, key: str, labels: dict[str, Any], config: dict[str, Any],
            result: dict[str, Any]) -> None:
        with self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?)",
                (key, json.dumps(labels, sort_keys=True), json.dumps(config, sort_keys=True),
                 json.dumps(result, sort_keys=True), time.time()),
            )

    def rows(self) -> list[dict[str, Any]]:
        """Every stored point: key, labels, config, result (parsed JSON), in insertion order."""
        cursor = self.connection.execute(
            "SELECT key, labels, config, result FROM points ORDER BY rowid")
        return [{"key": key, "labels": json.loads(labels), "config": json.loads(config),
                 "result": json.loads(result)} for key, labels, config, result in cursor]
