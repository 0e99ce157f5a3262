"""How many API processes `serve` starts when COMMENTS_WORKERS does not say (server.api_processes)."""

from __future__ import annotations

import pytest

from comments_service.server import api_processes, usable_cpus
from comments_service.settings import Settings, SettingsError

REMOTE = {"COMMENTS_DATABASE_URL": "postgresql://app@db.internal:5432/comments",
          "COMMENTS_REDIS_URL": "redis+cluster://10.0.0.7:7000,10.0.0.8:7000"}


def test_one_process_per_usable_cpu_without_neighbours():
    assert api_processes(Settings.from_env(REMOTE)) == usable_cpus() >= 1
    assert api_processes(Settings.from_env({**REMOTE, "COMMENTS_WORKERS": "auto"})) == usable_cpus()


@pytest.mark.parametrize("local", [{"COMMENTS_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/x"},
                                   {"COMMENTS_REDIS_URL": "redis://localhost:6379/0"},
                                   {"COMMENTS_DATABASE_URL": "postgresql:///comments?host=/var/run/postgresql"},
                                   {"COMMENTS_DATABASE_URL": "postgresql://u@[::1]/x"}])
def test_a_core_is_left_to_postgresql_or_redis_on_the_same_machine(local):
    assert api_processes(Settings.from_env({**REMOTE, **local})) == max(1, usable_cpus() - 1)


def test_the_setting_decides_when_given():
    assert api_processes(Settings.from_env({**REMOTE, "COMMENTS_WORKERS": "3"})) == 3
    with pytest.raises(SettingsError):
        Settings.from_env({"COMMENTS_WORKERS": "0"})
