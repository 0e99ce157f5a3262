"""What can be checked of the image and the CLI without a Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, "--failure-threshold", "warning", "--ignore", "DL3008",
                             str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_path_the_dockerfile_copies_exists():
    text = (ROOT / "Dockerfile").read_text()
    sources = []
    for line in text.splitlines():
        match = re.match(r"^COPY\s+(?!--from)(.+)\s+\S+$", line.strip())
        if match:
            sources += match.group(1).split()
    assert sources, "the Dockerfile copies nothing from the build context"
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"


def test_dockerfile_runs_as_non_root_with_a_healthcheck_and_serves():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "HEALTHCHECK" in text and 'CMD ["comments-service", "serve"]' in text
    assert '"torch==2.13.0"' in text and "python:3.11-slim" in text


def test_cli_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "comments_service.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("run", "serve", "migrate", "demo", "site", "token"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command


def test_invalid_configuration_stops_the_start_naming_the_variable():
    result = subprocess.run([sys.executable, "-m", "comments_service.cli", "migrate"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "COMMENTS_PORT": "not-a-port"})
    assert result.returncode == 2 and "COMMENTS_PORT" in result.stderr


def test_pyproject_declares_runtime_dependencies_and_the_console_script():
    text = (ROOT / "pyproject.toml").read_text()
    for dep in ("litestar", "msgspec", "asyncpg", "redis", "detoxify", '"torch==2.13.0"'):
        assert dep in text
    assert 'comments-service = "comments_service.cli:main"' in text


def test_every_data_file_the_package_reads_ships_in_the_wheel():
    """The image installs the package, not the checkout: a data file that no package-data pattern
    names is missing there (a locale, a word list, a Lua script) though every test here finds it."""
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "comments_service"]
    package = ROOT / "comments_service"
    # read only by scripts/extract_messages in a checkout, never at run time
    not_shipped = {"locales/messages.pot"}
    missing = [rel for path in package.rglob("*") if path.is_file() and path.suffix not in (".py", ".pyc")
               and "__pycache__" not in path.parts
               and (rel := path.relative_to(package).as_posix()) not in not_shipped
               # fnmatch's "*" crosses "/", setuptools' does not: compare directory by directory
               and not any(fnmatch.fnmatch(rel, p) and rel.count("/") == p.count("/") for p in patterns)]
    assert not missing, missing
