"""Where the console keeps its own files: the XDG state directory.

The log (``console/logs.py``) and the default folder for exports, memory snapshots and drill
reports (``ConsoleConfig.report_dir`` changes it) live under ``$XDG_STATE_HOME/lokstra-console``,
else ``~/.local/state/lokstra-console``: not the directory the console happened to be started
in, where a snapshot holding tenants' DSNs would land next to whatever else is there.
"""
from __future__ import annotations

import os
from pathlib import Path

FILES_FOLDER = "files"
"""The default folder's name inside the state directory."""


def state_directory() -> Path:
    """``$XDG_STATE_HOME/lokstra-console``, else ``~/.local/state/lokstra-console``."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state).expanduser() / "lokstra-console"


def default_files_directory() -> Path:
    """Where exports, snapshots and drill reports go unless the settings say otherwise."""
    return state_directory() / FILES_FOLDER


def private_directory(folder: Path, *, tighten: bool = True) -> Path:
    """Create ``folder`` (and its parents) 0700; with ``tighten``, make an existing folder of
    ours 0700 too (the files in it may hold DSNs). Raises OSError when it cannot be created."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if tighten:
        info = folder.stat()
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            folder.chmod(0o700)
    return folder
