"""Every headless module imports without textual, in fresh interpreters.

import-linter (.ci/run) checks the import graph of the sources; this checks what really
gets imported at run time (a lazy import inside a function, a package ``__init__`` that
pulls in a screen). A fresh interpreter per headless package imports its modules one by
one and names the first after which textual is loaded (textual enters sys.modules at the
first import that pulls it in, so no module can hide behind another)."""
from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADLESS_PACKAGES = ("stores", "migrations", "console.browse", "console.commands")
HEADLESS_MODULES = ("console.cli", "console.config", "console.hints", "console.logs", "console.postgres_target",
                    "console.problems", "console.target")


def headless_modules() -> list[str]:
    found = list(HEADLESS_MODULES)
    for package in HEADLESS_PACKAGES:
        path = ROOT.joinpath(*package.split("."))
        found.append(package)
        found += [info.name for info in pkgutil.walk_packages([str(path)], prefix=f"{package}.")]
    return sorted(found)


def test_the_list_is_not_empty() -> None:
    modules = headless_modules()
    assert "stores.transfer.drill" in modules and "console.commands.drill" in modules and len(modules) > 60


CHILD = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "textual" in sys.modules:
        print(name)
        sys.exit(3)
"""


def test_each_headless_module_imports_without_textual() -> None:
    """A fresh interpreter per package imports its modules one by one and stops at the first
    after which textual is loaded: that module (or one it imports) brought it in."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    groups: dict[str, list[str]] = {}
    for name in headless_modules():
        group = next((package for package in HEADLESS_PACKAGES if name.startswith(package)), "console")
        groups.setdefault(group, []).append(name)
    children = {group: subprocess.Popen([sys.executable, "-c", CHILD, *names], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for group, names in groups.items()}
    failed: dict[str, str] = {}
    for group, child in children.items():
        out, err = child.communicate(timeout=300)
        if child.returncode == 3:
            failed[out.decode().strip()] = "imports textual"
        elif child.returncode != 0:
            failed[group] = err.decode(errors="replace").strip().splitlines()[-1]
    assert not failed, "\n".join(f"{name}: {why}" for name, why in sorted(failed.items()))


@pytest.mark.parametrize("module", ["console.screens.backend.screen"])
def test_the_check_can_fail(module: str) -> None:
    """A screen module does import textual: the same check sees it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run([sys.executable, "-c", CHILD, "stores.errors", module], cwd=ROOT, env=env,
                           capture_output=True, text=True)
    assert child.returncode == 3 and child.stdout.strip() == module
