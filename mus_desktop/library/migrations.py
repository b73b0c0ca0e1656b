"""Schema upgrades in place, keyed on `PRAGMA user_version`.

A database made by an older version is upgraded, never replaced: missing
tables are created, missing columns are added with their defaults (SQLite's
`ALTER TABLE ADD COLUMN` keeps every row), then indexes and triggers are
(re)created and `user_version` is set. Steps that need more than an added
column go into `_STEPS`, keyed by the version they lead to.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, TextClause, inspect, text
from sqlalchemy.schema import CreateColumn

from mus_desktop.library.models import Base

SCHEMA_VERSION = 4  # 2: deleted_track and its trigger; 3: library_folder; 4: track.audio_hash

_TRIGGERS = {
    "track_change_seq_insert": """
        CREATE TRIGGER track_change_seq_insert AFTER INSERT ON track
        BEGIN
            UPDATE change_counter SET value = value + 1 WHERE id = 1;
            UPDATE track SET change_seq = (SELECT value FROM change_counter WHERE id = 1)
            WHERE id = NEW.id;
            DELETE FROM deleted_track WHERE id = NEW.id;  -- SQLite may reuse the id
        END
    """,
    "track_change_seq_update": """
        CREATE TRIGGER track_change_seq_update AFTER UPDATE ON track
        WHEN NEW.change_seq = OLD.change_seq
        BEGIN
            UPDATE change_counter SET value = value + 1 WHERE id = 1;
            UPDATE track SET change_seq = (SELECT value FROM change_counter WHERE id = 1)
            WHERE id = NEW.id;
        END
    """,
    "track_change_seq_delete": """
        CREATE TRIGGER track_change_seq_delete AFTER DELETE ON track
        BEGIN
            UPDATE change_counter SET value = value + 1 WHERE id = 1;
            INSERT OR REPLACE INTO deleted_track (id, change_seq)
            VALUES (OLD.id, (SELECT value FROM change_counter WHERE id = 1));
        END
    """,
}

_STEPS: dict[int, Callable[[Connection], None]] = {}


def _add_missing_columns(conn: Connection) -> None:
    """Add model columns an older table lacks. SQLite refuses a non-constant
    default (CURRENT_TIMESTAMP) in ADD COLUMN, so such a column is added
    nullable and filled in for the existing rows."""
    inspector = inspect(conn)
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            default = column.server_default
            expression = getattr(default, "arg", None)
            if isinstance(expression, TextClause):
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
                conn.exec_driver_sql(f"UPDATE {table.name} SET {column.name} = {expression.text}")
            else:
                ddl = CreateColumn(column).compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")


def migrate(engine: Engine) -> int:
    """Bring the schema to SCHEMA_VERSION; returns the version found before.

    A current schema is recognised under a plain read transaction, so opening
    the database never waits for (or holds up) a writer; only an upgrade takes
    the write lock, and checks again under it.
    """
    with engine.connect() as conn:
        found = _current_version(conn)
        if found == SCHEMA_VERSION and _has_triggers(conn):
            return found
    with engine.execution_options(mus_begin="IMMEDIATE").begin() as conn:
        found = _current_version(conn)
        if found == SCHEMA_VERSION and _has_triggers(conn):
            return found
        if found > SCHEMA_VERSION:
            raise RuntimeError(
                f"the library database is schema version {found}, newer than this "
                f"program ({SCHEMA_VERSION}); upgrade mus"
            )
        Base.metadata.create_all(conn, checkfirst=True)
        _add_missing_columns(conn)
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                index.create(conn, checkfirst=True)
        for version in range(found + 1, SCHEMA_VERSION + 1):
            if version in _STEPS:
                _STEPS[version](conn)
        conn.execute(text("INSERT OR IGNORE INTO change_counter (id, value) VALUES (1, 0)"))
        conn.execute(
            text(
                "UPDATE change_counter SET value = "
                "max(value, (SELECT coalesce(max(change_seq), 0) FROM track)) WHERE id = 1"
            )
        )
        for name, ddl in _TRIGGERS.items():
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
            conn.exec_driver_sql(ddl)
        conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return found


def _current_version(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)


def _has_triggers(conn: Connection) -> bool:
    names = {
        row[0]
        for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    }
    return set(_TRIGGERS) <= names


__all__ = ["SCHEMA_VERSION", "migrate"]
