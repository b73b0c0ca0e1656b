"""Schema upgrades in place, keyed on the schema version: SQLite's
`PRAGMA user_version`, or on PostgreSQL the one row of `mus_schema_version`.

A database made by an older version is upgraded, never replaced: missing
tables are created, missing columns are added with their defaults (SQLite's
`ALTER TABLE ADD COLUMN` keeps every row), then indexes and triggers are
(re)created and the version is set. Steps that need more than an added
column go into `_STEPS`, keyed by the version they lead to.

The triggers feed the window's change feed (library/rows.py): every insert and
update of a track takes the next number of `change_counter` as its
`change_seq`, and a deleted track is recorded in `deleted_track` with one. The
two engines say the same in their own trigger languages.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, TextClause, inspect, text
from sqlalchemy.schema import CreateColumn

from mus_desktop.library.engine import on_server, writing
from mus_desktop.library.models import Base

SCHEMA_VERSION = 6  # 2: deleted_track and its trigger; 3: library_folder; 4: track.audio_hash;
# 5: folder_mount; 6: ix_track_missing

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

_SERVER_TRIGGERS = {
    "track_change_seq": """
        CREATE OR REPLACE FUNCTION mus_track_change_seq() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE change_counter SET value = value + 1 WHERE id = 1
            RETURNING value INTO NEW.change_seq;
            IF TG_OP = 'INSERT' THEN
                DELETE FROM deleted_track WHERE id = NEW.id;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER track_change_seq BEFORE INSERT OR UPDATE ON track
        FOR EACH ROW EXECUTE FUNCTION mus_track_change_seq();
    """,
    "track_change_seq_delete": """
        CREATE OR REPLACE FUNCTION mus_track_deleted() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            seq bigint;
        BEGIN
            UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value INTO seq;
            INSERT INTO deleted_track (id, change_seq) VALUES (OLD.id, seq)
            ON CONFLICT (id) DO UPDATE SET change_seq = EXCLUDED.change_seq;
            RETURN OLD;
        END $$;
        CREATE TRIGGER track_change_seq_delete AFTER DELETE ON track
        FOR EACH ROW EXECUTE FUNCTION mus_track_deleted();
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
        found = schema_version(conn)
        if found == SCHEMA_VERSION and _has_triggers(conn):
            return found
    with writing(engine).begin() as conn:
        found = schema_version(conn)
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
        conn.execute(
            text(
                "INSERT INTO change_counter (id, value) SELECT 1, 0 "
                "WHERE NOT EXISTS (SELECT 1 FROM change_counter WHERE id = 1)"
            )
        )
        highest = "(SELECT coalesce(max(change_seq), 0) FROM track)"
        conn.execute(
            text(f"UPDATE change_counter SET value = {highest} WHERE id = 1 AND value < {highest}")
        )
        _create_triggers(conn)
        _set_version(conn, SCHEMA_VERSION)
        return found


def _create_triggers(conn: Connection) -> None:
    triggers = _SERVER_TRIGGERS if on_server(conn) else _TRIGGERS
    for name, ddl in triggers.items():
        on_table = " ON track" if on_server(conn) else ""
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{on_table}")
        conn.exec_driver_sql(ddl)


def _set_version(conn: Connection, version: int) -> None:
    if not on_server(conn):
        conn.exec_driver_sql(f"PRAGMA user_version = {version}")
        return
    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS mus_schema_version (version integer NOT NULL)")
    conn.exec_driver_sql("DELETE FROM mus_schema_version")
    conn.execute(text("INSERT INTO mus_schema_version (version) VALUES (:v)"), {"v": version})


def schema_version(conn: Connection) -> int:
    """The schema version of the library behind `conn`; 0 for a new database."""
    if not on_server(conn):
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    if conn.exec_driver_sql("SELECT to_regclass('mus_schema_version')").scalar() is None:
        return 0
    return int(conn.exec_driver_sql("SELECT max(version) FROM mus_schema_version").scalar() or 0)


def _has_triggers(conn: Connection) -> bool:
    if on_server(conn):
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        expected = set(_SERVER_TRIGGERS)
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        expected = set(_TRIGGERS)
    return expected <= {row[0] for row in conn.exec_driver_sql(query)}


__all__ = ["SCHEMA_VERSION", "migrate", "schema_version"]
