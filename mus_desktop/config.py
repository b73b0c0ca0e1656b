"""Settings from environment variables and a small settings file, with per-user
platform defaults.

Every setting is read here and nowhere else, so a bad value is reported once,
as one line that names the variable, or the settings file and its key.

The settings file holds what a person tunes in the window's Settings dialog
(`FILE_KEYS`): `settings.json` in the user's config folder, or the file
MUS_CONFIG names. An environment variable set to a non-blank value wins over
the file. The file is JSON, read and written with the standard library: three
keys need no TOML writer dependency (and no lock change), and Python's JSON
round-trips any path, including one that is not valid UTF-8.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import platformdirs

from mus_desktop import APP_NAME, APP_ORG


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the variable, or the
    settings file and the key."""


class Source(Enum):
    """Where a setting's value comes from."""

    DEFAULT = "default"
    FILE = "settings file"
    ENVIRONMENT = "environment"


@dataclass(frozen=True)
class Origin:
    source: Source
    where: str = ""
    """The settings file's path, or the environment variable's name."""

    def describe(self) -> str:
        """'default', 'settings file /…/settings.json', 'set by MUS_WORKERS in the environment'."""
        if self.source is Source.ENVIRONMENT:
            return f"set by {self.where} in the environment"
        if self.source is Source.FILE:
            return f"settings file {self.where}"
        return "default"


@dataclass(frozen=True)
class Settings:
    db_path: Path
    """The SQLite library file (unused when `db_url` names a database server)."""
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
    db_url: str | None = None
    """MUS_DB holding a `postgresql://` URL: the library lives on that server."""
    follow_remote: bool = False
    """MUS_FOLLOW_REMOTE=1: in a shared library, watch and scan a library folder this
    host sees on a network file system too (by default the host that has it on a
    local disk does)."""
    config_path: Path | None = None
    """The settings file read (it may not exist)."""
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False)
    """Where each of FILE_KEYS got its value."""

    @property
    def thumbnail_dir(self) -> Path:
        return self.cache_dir / "thumbnails"

    @property
    def database(self) -> Path | str:
        """What `open_database` takes: the server's URL, else the SQLite file."""
        return self.db_url or self.db_path

    @property
    def database_label(self) -> str:
        """The library database, fit to print: the file, or the URL without its password."""
        return str(self.db_path) if self.db_url is None else shown_url(self.db_url)


WATCH_MODES = ("auto", "events", "polling", "off")
WORKERS_RANGE = (0, 64)
FILE_KEYS: dict[str, str] = {
    "workers": "MUS_WORKERS",
    "music_roots": "MUS_MUSIC_ROOTS",
    "watch": "MUS_WATCH",
}
"""The settings the settings file may hold, and the variable that overrides each."""


def _env(name: str) -> str | None:
    """A variable's value, None when it is unset or blank (which counts as unset)."""
    raw = os.environ.get(name)
    return None if raw is None or raw.strip() == "" else raw


# -- checking a value, from the environment (text) or the file (JSON) ------------------


def _whole_number(label: str, raw: object, minimum: int, maximum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ConfigError(f"{label}={raw!r} is not a whole number")
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{label}={raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{label}={value} is out of range ({minimum}..{maximum})")
    return value


def _folders(label: str, parts: list[str]) -> tuple[Path, ...]:
    roots = tuple(Path(part).expanduser().absolute() for part in parts if part)
    for root in roots:
        if not root.is_dir():
            raise ConfigError(f"{label} names {str(root)!r}, which is not a folder")
    return roots


def _choice(label: str, raw: object, choices: tuple[str, ...]) -> str:
    value = raw.strip().lower() if isinstance(raw, str) else raw
    if value not in choices:
        raise ConfigError(f"{label}={value!r} must be one of {', '.join(choices)}")
    return str(value)


def _int_var(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = _env(name)
    return default if raw is None else _whole_number(name, raw, minimum, maximum)


_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
"""How a URL starts: taken as a path, `postgresql://…` once made a folder named
`postgresql:` holding a new, empty library."""
SERVER_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
"""The URL schemes MUS_DB takes for a library on a database server."""


def is_server_url(target: Path | str) -> bool:
    """Whether `target` names a database server (a URL) rather than a SQLite file."""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in SERVER_SCHEMES


def shown_url(url: str) -> str:
    """A database server's URL fit to print: the password hidden."""
    from sqlalchemy import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)


def host_name() -> str:
    """This machine's name in a library shared by several (MUS_HOST, else its host
    name): the key of the folder paths it records (`mus folders map`)."""
    return (_env("MUS_HOST") or socket.gethostname()).strip()


def _server_url_var(name: str) -> str | None:
    """MUS_DB's URL when it names a database server; a URL of any other kind is refused."""
    raw = _env(name)
    url = _URL_SCHEME.match(raw) if raw is not None else None
    if raw is None or url is None:
        return None
    scheme = url.group(1).lower()
    # Only the scheme is repeated: the rest of a URL may hold a password.
    if scheme not in SERVER_SCHEMES:
        raise ConfigError(
            f"MUS_DB holds a {scheme}:// URL; it must be the path of a SQLite library file"
            " or a postgresql:// URL"
        )
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(raw.strip())
    except ArgumentError:
        raise ConfigError(f"MUS_DB holds a {scheme}:// URL that cannot be read") from None
    if not parsed.database:
        raise ConfigError(
            f"MUS_DB holds a {scheme}:// URL without a database name (…/musdb at its end)"
        )
    return raw.strip()


def _path_var(name: str, default: Path) -> Path:
    raw = _env(name)
    if raw is None:
        return default
    path = Path(raw).expanduser()
    if name == "MUS_DB" and path.is_dir():
        raise ConfigError(f"MUS_DB={raw!r} is a folder; it must name the SQLite file")
    if name == "MUS_CONFIG" and path.is_dir():
        raise ConfigError(f"MUS_CONFIG={raw!r} is a folder; it must name the settings file")
    return path.absolute()


def _redis_url_var() -> str | None:
    raw = os.environ.get("MUS_REDIS_URL", "").strip()
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"MUS_REDIS_URL={raw!r} must start with redis://, rediss:// or unix://")
    return raw


# -- the settings file ----------------------------------------------------------------


@dataclass(frozen=True)
class FileSettings:
    """What the settings file holds: None for a key it does not have."""

    workers: int | None = None
    music_roots: tuple[Path, ...] | None = None
    watch: str | None = None

    def present(self) -> dict[str, object]:
        return {key: value for key in FILE_KEYS if (value := getattr(self, key)) is not None}


def default_config_path() -> Path:
    """The settings file: MUS_CONFIG, else settings.json in the user's config folder."""
    default = Path(platformdirs.user_config_dir(APP_NAME, APP_ORG)) / "settings.json"
    return _path_var("MUS_CONFIG", default)


def _file_roots(label: str, raw: object) -> tuple[Path, ...]:
    if not isinstance(raw, list) or not all(isinstance(part, str) for part in raw):
        raise ConfigError(f"{label}={raw!r} is not a list of folders")
    return _folders(label, raw)


_FILE_READERS: dict[str, Callable[[str, Any], object]] = {
    "workers": lambda label, raw: _whole_number(label, raw, *WORKERS_RANGE),
    "music_roots": _file_roots,
    "watch": lambda label, raw: _choice(label, raw, WATCH_MODES),
}


def read_settings_file(path: Path | None = None) -> FileSettings:
    """The settings file's values, checked; a missing file holds none.

    Raises ConfigError naming the file (and the key, for a bad value).
    """
    path = path or default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return FileSettings()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: must hold a JSON object, such as {{"workers": 2}}')
    unknown = sorted(set(data) - set(FILE_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(FILE_KEYS)})")
    values = {key: _FILE_READERS[key](f"{path}: {key}", raw) for key, raw in data.items()}
    return FileSettings(**values)


def write_settings_file(values: FileSettings, path: Path | None = None) -> Path:
    """Write the settings file atomically (a reader sees the old file or the new one,
    never half of one); returns its path."""
    path = path or default_config_path()
    data = values.present()
    if values.music_roots is not None:
        data["music_roots"] = [str(root) for root in values.music_roots]
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as out:
        json.dump(data, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(out.name, path)
    return path


# -- the whole --------------------------------------------------------------------------


_ENV_READERS: dict[str, Callable[[str], object]] = {
    "workers": lambda raw: _whole_number("MUS_WORKERS", raw, *WORKERS_RANGE),
    "music_roots": lambda raw: _folders("MUS_MUSIC_ROOTS", raw.split(os.pathsep)),
    "watch": lambda raw: _choice("MUS_WATCH", raw, WATCH_MODES),
}


def setting_origins(config_path: Path, in_file: FileSettings) -> dict[str, Origin]:
    """Where each of FILE_KEYS gets its value: a non-blank environment variable wins
    over the settings file (`in_file`, read from `config_path`), which wins over
    the default."""
    origins: dict[str, Origin] = {}
    for key, variable in FILE_KEYS.items():
        if _env(variable) is not None:
            origins[key] = Origin(Source.ENVIRONMENT, variable)
        elif getattr(in_file, key) is not None:
            origins[key] = Origin(Source.FILE, str(config_path))
        else:
            origins[key] = Origin(Source.DEFAULT)
    return origins


def _tuned(config_path: Path) -> tuple[dict[str, Any], dict[str, Origin]]:
    """The values of FILE_KEYS that the environment or the settings file set, and
    where every one of them comes from."""
    in_file = read_settings_file(config_path)
    origins = setting_origins(config_path, in_file)
    values: dict[str, Any] = {}
    for key, origin in origins.items():
        if origin.source is Source.ENVIRONMENT:
            values[key] = _ENV_READERS[key](_env(origin.where) or "")
        elif origin.source is Source.FILE:
            values[key] = getattr(in_file, key)
    return values, origins


def load_settings() -> Settings:
    """Read the settings; raises ConfigError naming the variable (or the settings
    file and key) at fault. The environment wins over the settings file."""
    data_dir = Path(platformdirs.user_data_dir(APP_NAME, APP_ORG))
    cache_default = Path(platformdirs.user_cache_dir(APP_NAME, APP_ORG))
    with warnings.catch_warnings():  # no XDG_RUNTIME_DIR: platformdirs' /tmp fallback is fine
        warnings.simplefilter("ignore")
        runtime_default = Path(platformdirs.user_runtime_dir(APP_NAME, APP_ORG))
    log_default = Path(platformdirs.user_log_dir(APP_NAME, APP_ORG))
    config_path = default_config_path()
    tuned, origins = _tuned(config_path)
    db_url = _server_url_var("MUS_DB")
    return Settings(
        db_path=data_dir / "library.db" if db_url else _path_var("MUS_DB", data_dir / "library.db"),
        db_url=db_url,
        cache_dir=_path_var("MUS_CACHE_DIR", cache_default),
        redis_url=_redis_url_var(),
        workers=tuned.get("workers", os.cpu_count() or 2),
        job_timeout=_int_var("MUS_JOB_TIMEOUT", 600, 10, 86400),
        batch_size=_int_var("MUS_BATCH_SIZE", 500, 1, 10000),
        runtime_dir=_path_var("MUS_RUNTIME_DIR", runtime_default),
        log_dir=_path_var("MUS_LOG_DIR", log_default),
        music_roots=tuned.get("music_roots", ()),
        watch=tuned.get("watch", "auto"),
        rescan_hours=_int_var("MUS_RESCAN_HOURS", 24, 0, 24 * 366),
        poll_seconds=_int_var("MUS_POLL_SECONDS", 30, 1, 86400),
        watch_max_folders=_int_var("MUS_WATCH_MAX_FOLDERS", 0, 0, 10_000_000),
        follow_remote=bool(_int_var("MUS_FOLLOW_REMOTE", 0, 0, 1)),
        config_path=config_path,
        origins=origins,
    )
