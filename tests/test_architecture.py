"""Dependencies point one way: the contracts in pyproject.toml ([tool.importlinter]),
checked by import-linter (dev extra) as `make lint` does.

cli > gui > runtime > watching > processing > library, and library/ knows nothing of RQ, the
broker's client or Qt, processing/ nothing of Qt, runtime/ nothing of the window.
Imports inside functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "mus_desktop"

LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"


def test_every_package_folder_has_an_init_module() -> None:
    """import-linter (grimp) builds its graph from regular packages only: a folder
    without __init__.py is left out of it silently, and no contract checks it."""
    folders = {path.parent for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts}
    missing = sorted(
        str(folder.relative_to(REPO)) for folder in folders if not (folder / "__init__.py").exists()
    )
    assert not missing, f"add an __init__.py to: {', '.join(missing)}"


def test_imports_keep_the_layer_contracts() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-logo", "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout
