"""`mus doctor`: the database and the settings that matter on its engine, the
broker, the watching."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from mus_desktop.cli.common import open_library
from mus_desktop.config import Settings
from mus_desktop.terminal import printable

if TYPE_CHECKING:
    from mus_desktop.library.engine import Database


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.runtime.backend import probe_broker

    db = open_library(settings) if settings.db_url or settings.db_path.exists() else None
    exists = db is not None
    engine_settings = db.settings() if db is not None else {}
    broker = probe_broker(settings)
    report: dict[str, object] = {
        "database": settings.database_label,
        "engine": "postgresql" if settings.db_url else "sqlite",
        "database_exists": exists,
        "settings": engine_settings,
        "cache_dir": str(settings.cache_dir),
        "settings_file": _settings_report(settings),
        "broker": broker,
        "watching": _watch_report(settings, db),
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(f"database:      {printable(settings.database_label)}")
        print(f"  engine:      {report['engine']}")
        if not exists:
            print("  exists:      no (`mus import FOLDER` creates it)")
        for name, value in engine_settings.items():
            print(f"  {name:<13}{value}")
        print(f"cache:         {report['cache_dir']}")
        tuned = report["settings_file"]
        assert isinstance(tuned, dict)
        there = "" if tuned["exists"] else " (none yet: File ▸ Settings… writes it)"
        print(f"settings:      {printable(str(tuned['path']))}{there}")
        for key, origin in tuned["origins"].items():
            print(f"  {key:<13}{printable(origin)}")
        print(f"broker:        {broker['url'] or 'private (not started)'}")
        answer = "yes" if broker["answers"] else f"no ({broker['reason']})"
        print(f"  answers:     {answer}")
        if broker["answers"]:
            print(f"  workers:     {broker['live_workers']}")
            print(f"  queue depth: {broker['queue_depth']}")
        watching = report["watching"]
        assert isinstance(watching, dict)
        print(f"watching:      MUS_WATCH={watching['setting']}")
        for name, value in watching["inotify"].items():
            print(f"  inotify {name}: {value}")
        for folder in watching["folders"]:
            print(f"  {folder['mode'] or 'unwatched':<11}{printable(folder['path'])}")
            if folder["error"]:
                print(f"  {'':<11}{printable(folder['error'])}")
    # A library not made yet and a private broker not started yet are fine: both
    # are made when there is work. A configured broker that does not answer is not.
    return 0 if broker["answers"] or broker["private"] else 1


def _settings_report(settings: Settings) -> dict[str, object]:
    """The settings file, and where each setting it may hold got its value."""
    path = settings.config_path
    return {
        "path": str(path) if path is not None else None,
        "exists": path is not None and path.is_file(),
        "origins": {key: origin.describe() for key, origin in settings.origins.items()},
    }


def _watch_report(settings: Settings, db: Database | None) -> dict[str, object]:
    """The watch setting, the kernel's inotify limits, and each library folder's
    mode in force and why it is not events (the sysctl to raise a limit, say)."""
    from mus_desktop.library.folders import list_folders

    limits = {}
    for name in ("max_user_watches", "max_user_instances"):
        try:
            limits[name] = int(Path(f"/proc/sys/fs/inotify/{name}").read_text())
        except (OSError, ValueError):
            limits[name] = None
    folders = []
    for folder in list_folders(db) if db is not None else []:
        mode, why = folder.state_now()
        folders.append({"path": folder.path, "mode": mode, "error": why})
    return {"setting": settings.watch, "inotify": limits, "folders": folders}
