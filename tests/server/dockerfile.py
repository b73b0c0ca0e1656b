"""Reading the repository's Dockerfile, for the tests that check it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def pip_installs() -> list[str]:
    """The arguments of each `RUN` that runs `pip install`, from `pip install` on."""
    return [
        args.split("pip install", 1)[1].strip()
        for keyword, args in instructions()
        if keyword == "RUN" and "pip install" in args
    ]


def context_sources(args: str) -> list[str]:
    """The build-context paths one COPY's `args` take; none when it copies from a stage."""
    return [] if args.startswith("--from") else shlex.split(args)[:-1]
