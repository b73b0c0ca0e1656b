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
    )
