import pytest

from comments_service.settings import Settings, SettingsError


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings.server.port == 8000 and settings.database.url is None
    assert settings.comments.max_body_chars == 10_000 and settings.comments.edit_window_seconds == 900


def test_values_are_read_and_typed():
    settings = Settings.from_env({"COMMENTS_PORT": "9001", "COMMENTS_LOG_LEVEL": "debug",
                                  "COMMENTS_DATABASE_URL": "postgresql://u@h/db", "COMMENTS_REDIS_URL": "redis://h:1/0",
                                  "COMMENTS_RATE_LIMITS": "post.user=10:2"})
    assert settings.server.port == 9001 and settings.server.log_level == "DEBUG"
    assert settings.limits["post"]["user"].per_seconds == 10 and settings.limits["post"]["user"].burst == 2


@pytest.mark.parametrize("name,value", [
    ("COMMENTS_PORT", "eighty"), ("COMMENTS_PORT", "70000"), ("COMMENTS_LOG_LEVEL", "LOUD"),
    ("COMMENTS_DATABASE_URL", "mysql://x"), ("COMMENTS_REDIS_URL", "localhost:6379"),
    ("COMMENTS_MAX_BODY_CHARS", "-1"), ("COMMENTS_SECRET_KEY", "short"), ("COMMENTS_RATE_LIMITS", "fly.user=1:1"),
])
def test_invalid_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_version_keys_must_outlive_what_is_cached_under_them():
    with pytest.raises(SettingsError, match="COMMENTS_REDIS_VERSION_TTL"):
        Settings.from_env({"COMMENTS_REDIS_VERSION_TTL": "300", "COMMENTS_REDIS_PAGE_TTL": "300"})
    assert Settings.from_env({"COMMENTS_REDIS_VERSION_TTL": "601"}).redis.version_ttl == 601


def test_trusted_proxies_are_stored_as_networks_uvicorn_reads():
    settings = Settings.from_env({"COMMENTS_TRUSTED_PROXIES": "10.0.0.1/8, 127.0.0.1 ,::1"})
    assert settings.server.trusted_proxies == "10.0.0.0/8,127.0.0.1/32,::1/128"
    with pytest.raises(SettingsError, match="COMMENTS_TRUSTED_PROXIES"):
        Settings.from_env({"COMMENTS_TRUSTED_PROXIES": "10.0.0.300"})
