"""Settings from environment variables, with per-user platform defaults.

Every setting is read here and nowhere else, so a bad value is reported once,
as one line that names the variable.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from mus_desktop import APP_NAME, APP_ORG


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    db_path: Path
    cache_dir: Path
    redis_url: str | None
    workers: int
    job_timeout: int
    batch_size: int
    runtime_dir: Path
    log_dir: Path
    music_roots: tuple[Path, ...] = ()
    """If set (MUS_MUSIC_ROOTS), workers open files under these folders only."""
    watch: str = "auto"
    """MUS_WATCH: auto (events, polling on network and virtual file systems),
    events, polling or off."""
    rescan_hours: int = 24
    """MUS_RESCAN_HOURS: a full scan of every library folder this often (0: only at start)."""
    poll_seconds: int = 30
    """MUS_POLL_SECONDS: how often a polled library folder is looked at."""
    watch_max_folders: int = 0
    """MUS_WATCH_MAX_FOLDERS: at most this many folders watched by events, all library
    folders together (0: as many as the kernel allows); past it, a folder is polled."""

    @property
    def thumbnail_dir(self) -> Path:
        return self.cache_dir / "thumbnails"


def _int_var(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={value} is out of range ({minimum}..{maximum})")
    return value


def _path_var(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    path = Path(raw).expanduser()
    if name == "MUS_DB" and path.is_dir():
        raise ConfigError(f"MUS_DB={raw!r} is a folder; it must name the SQLite file")
    return path.absolute()


def _redis_url_var() -> str | None:
    raw = os.environ.get("MUS_REDIS_URL", "").strip()
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"MUS_REDIS_URL={raw!r} must start with redis://, rediss:// or unix://")
    return raw


def _roots_var() -> tuple[Path, ...]:
    raw = os.environ.get("MUS_MUSIC_ROOTS", "")
    roots = tuple(Path(part).expanduser().absolute() for part in raw.split(os.pathsep) if part)
    for root in roots:
        if not root.is_dir():
            raise ConfigError(f"MUS_MUSIC_ROOTS names {str(root)!r}, which is not a folder")
    return roots


WATCH_MODES = ("auto", "events", "polling", "off")


def _choice_var(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


def load_settings() -> Settings:
    """Read the settings; raises ConfigError naming the variable at fault."""
    data_dir = Path(platformdirs.user_data_dir(APP_NAME, APP_ORG))
    cache_default = Path(platformdirs.user_cache_dir(APP_NAME, APP_ORG))
    with warnings.catch_warnings():  # no XDG_RUNTIME_DIR: platformdirs' /tmp fallback is fine
        warnings.simplefilter("ignore")
        runtime_default = Path(platformdirs.user_runtime_dir(APP_NAME, APP_ORG))
    log_default = Path(platformdirs.user_log_dir(APP_NAME, APP_ORG))
    return Settings(
        db_path=_path_var("MUS_DB", data_dir / "library.db"),
        cache_dir=_path_var("MUS_CACHE_DIR", cache_default),
        redis_url=_redis_url_var(),
        workers=_int_var("MUS_WORKERS", os.cpu_count() or 2, 0, 64),
        job_timeout=_int_var("MUS_JOB_TIMEOUT", 600, 10, 86400),
        batch_size=_int_var("MUS_BATCH_SIZE", 500, 1, 10000),
        runtime_dir=_path_var("MUS_RUNTIME_DIR", runtime_default),
        log_dir=_path_var("MUS_LOG_DIR", log_default),
        music_roots=_roots_var(),
        watch=_choice_var("MUS_WATCH", "auto", WATCH_MODES),
        rescan_hours=_int_var("MUS_RESCAN_HOURS", 24, 0, 24 * 366),
        poll_seconds=_int_var("MUS_POLL_SECONDS", 30, 1, 86400),
        watch_max_folders=_int_var("MUS_WATCH_MAX_FOLDERS", 0, 0, 10_000_000),
    )
