"""The library's tables: Track, the library folders, and the change counter and
deleted-track record the window follows."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mus_desktop.library.paths import FsPath, RawFsPath


class ProcessingStatus(str, Enum):
    PENDING = "PENDING"
    METADATA_DONE = "METADATA_DONE"
    ART_DONE = "ART_DONE"
    COMPLETE = "COMPLETE"
    ERROR = "ERROR"


FINAL_STATUSES = (ProcessingStatus.COMPLETE.value, ProcessingStatus.ERROR.value)
UNFINISHED_STATUSES = tuple(s.value for s in ProcessingStatus if s.value not in FINAL_STATUSES)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Track(Base):
    __tablename__ = "track"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)

    # Identity: (device, inode) follows a file across renames on one
    # filesystem; size and mtime tell an edit; content_hash follows it anywhere.
    device: Mapped[int | None] = mapped_column(BigInteger)
    inode: Mapped[int | None] = mapped_column(BigInteger, index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The audio payload's hash (tags and pictures excluded): follows a file that
    # was retagged and moved (docs/architecture.md, "Identity"). None: never
    # computed (processed before schema 4); "": computed, the format has none.
    audio_hash: Mapped[str | None] = mapped_column(String(64), index=True)

    processing_status: Mapped[str] = mapped_column(
        String(20),
        nullable=False,
        default=ProcessingStatus.PENDING.value,
        server_default=ProcessingStatus.PENDING.value,
        index=True,
    )
    last_error_message: Mapped[str | None] = mapped_column(Text)
    # The stage that failed, so a retry resumes there rather than from scratch.
    failed_stage: Mapped[str | None] = mapped_column(String(20))
    # Batches started on this track without reaching a final state: a file that
    # keeps killing its worker is isolated and, after a few tries, put in ERROR.
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    title: Mapped[str | None] = mapped_column(Text)
    artist: Mapped[str | None] = mapped_column(Text)
    album: Mapped[str | None] = mapped_column(Text)
    album_artist: Mapped[str | None] = mapped_column(Text)
    track_number: Mapped[int | None] = mapped_column(Integer)
    disc_number: Mapped[int | None] = mapped_column(Integer)
    year: Mapped[int | None] = mapped_column(Integer)
    genre: Mapped[str | None] = mapped_column(Text)

    duration: Mapped[float | None] = mapped_column(Float)
    bitrate: Mapped[int | None] = mapped_column(Integer)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(20))

    # The cover: hash of the image bytes; the thumbnail is <cache>/thumbnails/<hash>.jpg.
    artwork_hash: Mapped[str | None] = mapped_column(String(64))
    artwork_source: Mapped[str | None] = mapped_column(String(20))

    added_at: Mapped[datetime] = mapped_column(
        DateTime, nullable=False, default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime,
        nullable=False,
        default=utcnow,
        onupdate=utcnow,
        server_default=text("CURRENT_TIMESTAMP"),
    )
    missing_since: Mapped[datetime | None] = mapped_column(DateTime)

    # Set by a trigger from `change_counter` on every insert and update (a delete is
    # recorded in `deleted_track`), so a
    # reader can ask "what changed since N?" in commit order.
    change_seq: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default="0", index=True
    )

    __table_args__ = (
        Index("ix_track_device_inode", "device", "inode"),
        # The missing tracks alone (a few of a library): what a batch asks of them
        # (transitions.has_plain_hashed_missing) reads these, not every track.
        Index(
            "ix_track_missing",
            "missing_since",
            sqlite_where=text("missing_since IS NOT NULL"),
            postgresql_where=text("missing_since IS NOT NULL"),
        ),
    )

    def __repr__(self) -> str:
        return f"<Track {self.id} {self.processing_status} {self.path!r}>"


class ChangeCounter(Base):
    """One row: the last change sequence number handed out."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class DeletedTrack(Base):
    """A track row that was deleted (one merged into the id it moved from: identity
    rule 4, library/identity.py), with the change_seq of its deletion: a reader
    following changes by change_seq learns of rows that are gone, not only of rows
    inserted or updated."""

    __tablename__ = "deleted_track"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)


class WatchMode(str, Enum):
    """How a library folder is followed (library/folders.py, watching/)."""

    EVENTS = "events"
    POLLING = "polling"
    OFFLINE = "offline"


class LibraryFolder(Base):
    """A folder the library follows: scanned at every start of a watcher and
    periodically, and watched in between. Library folders never nest: adding a
    parent absorbs its children (library/folders.py)."""

    __tablename__ = "library_folder"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    added_at: Mapped[datetime] = mapped_column(
        DateTime, nullable=False, default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    last_scan_at: Mapped[datetime | None] = mapped_column(DateTime)
    """The end of the last full scan of the folder."""
    device: Mapped[int | None] = mapped_column(BigInteger)
    """The root's device at the last full scan. An empty root on another device is an
    unmounted mount point (offline); on the same one, a folder that was emptied."""
    watch_mode: Mapped[str | None] = mapped_column(String(10))
    """The WatchMode in force, as the last watcher set it; None: never watched."""
    watch_error: Mapped[str | None] = mapped_column(Text)
    """Why the folder is not followed by events (or at all), in a person's words."""


class FolderMount(Base):
    """Where one host sees a library folder, when not at the path stored (a library
    shared by several machines: library/paths.py, PathMap). Written by `mus folders
    map` on that host."""

    __tablename__ = "folder_mount"
    __table_args__ = (UniqueConstraint("folder_id", "host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("library_folder.id", ondelete="CASCADE"), nullable=False
    )
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    path: Mapped[str] = mapped_column(RawFsPath, nullable=False)
    """The folder's path on that host."""
