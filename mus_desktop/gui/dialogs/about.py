"""The Help → About text: version, library, cache, settings file and broker."""

from __future__ import annotations

from importlib import metadata

from mus_desktop import __version__
from mus_desktop.config import Settings
from mus_desktop.library.paths import display_path

DISTRIBUTION = "mus-desktop"


def version() -> str:
    """mus's version as installed (the package metadata), else the checkout's own."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return __version__


def about_text(settings: Settings, broker_text: str) -> str:
    """Plain text, one fact a line: what a person quotes in a bug report."""
    lines = [
        f"Version: {version()}",
        f"Library: {display_path(settings.database_label)}",
        f"Cache: {display_path(str(settings.cache_dir))}",
    ]
    if settings.config_path is not None:
        lines.append(f"Settings file: {display_path(str(settings.config_path))}")
    lines.append(f"Broker: {broker_text}")
    return "\n".join(lines)
