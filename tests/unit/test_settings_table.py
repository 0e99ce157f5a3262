"""README's Configuration table and settings.py name the same environment variables.

The variables settings.py reads are found by reading a settings object from an environment that
records every name asked of it, so a new variable cannot be missed however it is read. A default
written in the table as a single literal must be the real one: reading the settings with that
value set must give the same settings as leaving it unset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from comments_service.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
_ROW = re.compile(r"^\|\s*`(COMMENTS_[A-Z0-9_]+)`\s*\|(.*)\|(.*)\|\s*$")
_LITERAL = re.compile(r"^`([^`]+)`$")


class _RecordingEnv(Mapping[str, str]):
    """An empty environment that remembers every variable looked up in it."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def variables_read_by_settings() -> set[str]:
    env = _RecordingEnv()
    Settings.from_env(env)
    return {name for name in env.asked if name.startswith("COMMENTS_")}


def configuration_table() -> dict[str, tuple[str, str]]:
    """The Configuration section's table: variable -> (default, meaning)."""
    text = README.read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `COMMENTS_"):
            continue
        match = _ROW.match(line)
        assert match, f"a settings row names one variable, then its default and meaning: {line}"
        name, default, meaning = match.group(1), match.group(2).strip(), match.group(3).strip()
        assert name not in rows, f"{name} has two rows"
        rows[name] = (default, meaning)
    return rows


def test_recording_sees_the_variables_settings_reads() -> None:
    # the recorder must see lookups made by every group, including the toxicity settings' own reader
    read = variables_read_by_settings()
    assert {"COMMENTS_SECRET_KEY", "COMMENTS_TOXICITY_BACKEND", "COMMENTS_RATE_LIMITS"} <= read


def test_every_setting_has_a_row() -> None:
    missing = variables_read_by_settings() - configuration_table().keys()
    assert not missing, f"README's Configuration table lacks: {sorted(missing)}"


def test_every_row_is_a_setting() -> None:
    unknown = configuration_table().keys() - variables_read_by_settings()
    assert not unknown, f"README's Configuration table names variables settings.py does not read: {sorted(unknown)}"


def test_every_row_has_a_default_and_a_meaning() -> None:
    for name, (default, meaning) in configuration_table().items():
        assert default, f"{name}: no default"
        assert meaning, f"{name}: no meaning"


def test_literal_defaults_are_the_real_defaults() -> None:
    unset = Settings.from_env({})
    checked = 0
    for name, (default, _meaning) in configuration_table().items():
        literal = _LITERAL.match(default)
        if literal is None:
            continue  # prose ("none", "see domain/limits.py"): nothing to compare
        checked += 1
        assert Settings.from_env({name: literal.group(1)}) == unset, (
            f"{name}: README says the default is {literal.group(1)!r}, settings.py differs")
    assert checked >= 30
