"""deploy/compose.yaml (and its model-kit override), validated against the Compose Specification's
JSON Schema (deploy/schemas/compose-spec.json) and checked against the service it runs. No Docker
engine here: what `docker compose config` would check, without it."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from comments_service.settings import Settings
from tests.deploy.manifests import DEPLOY, dockerfile_env, read_by_package, settings_variable_names

SCHEMA = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
COMPOSE = DEPLOY / "compose.yaml"
MODEL_KIT_OVERRIDE = DEPLOY / "compose.model-kit.yaml"
ENV_EXAMPLE = DEPLOY / "compose.env.example"
COMMENTS_SERVICES = ("migrate", "api", "worker", "notifier")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def load(path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Compose's variable interpolation over a loaded document; a required variable that is
    missing raises, as `docker compose config` stops."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        current = variables.get(name)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if op in (":?", "?") and unset:
            raise KeyError(f"{name}: {arg}")
        if op in (":-", "-") and unset:
            return arg
        return current or ""

    return INTERPOLATION.sub(one, value)


def merge(base: Any, override: Any) -> Any:
    """`docker compose -f base -f override`: mappings merge key by key, the rest is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base.get(key), value) if key in base else value
        return merged
    return override


def example_variables() -> dict[str, str]:
    """deploy/compose.env.example's settings (not those commented out), the required secrets
    filled in."""
    names = re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.M)
    variables = dict(names)
    variables.update(POSTGRES_PASSWORD="pg-password", COMMENTS_SECRET_KEY="s" * 48)
    return variables


@pytest.mark.parametrize("document", [
    pytest.param(lambda: load(COMPOSE), id="compose.yaml"),
    pytest.param(lambda: load(MODEL_KIT_OVERRIDE), id="compose.model-kit.yaml"),
    pytest.param(lambda: merge(load(COMPOSE), load(MODEL_KIT_OVERRIDE)), id="both"),
    pytest.param(lambda: interpolate(load(COMPOSE), example_variables()), id="interpolated"),
])
def test_the_compose_files_match_the_compose_specification(document):
    assert schema_errors(document()) == []


def test_the_schema_rejects_what_compose_would_reject():
    """The check bites: a misspelled key and a wrong dependency condition are refused."""
    broken = copy.deepcopy(load(COMPOSE))
    broken["services"]["api"]["healthchek"] = broken["services"]["api"].pop("healthcheck")
    assert any("healthchek" in e for e in schema_errors(broken))
    broken = copy.deepcopy(load(COMPOSE))
    broken["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"
    assert schema_errors(broken)


def test_the_schema_is_the_compose_specification():
    assert SCHEMA["title"] == "Compose Specification"
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert (DEPLOY / "schemas" / "LICENSE.compose-spec").read_text().lstrip().startswith("Apache License")


def test_required_secrets_stop_compose_before_anything_starts():
    variables = example_variables()
    for name in ("POSTGRES_PASSWORD", "COMMENTS_SECRET_KEY"):
        missing = {k: v for k, v in variables.items() if k != name}
        with pytest.raises(KeyError, match=name):
            interpolate(load(COMPOSE), missing)
    with pytest.raises(KeyError, match="MODEL_KIT_DIR"):
        interpolate(load(MODEL_KIT_OVERRIDE), variables)


def test_every_variable_compose_interpolates_is_in_the_example_env_file():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    for path in (COMPOSE, MODEL_KIT_OVERRIDE):
        used = {m.group(1) for m in INTERPOLATION.finditer(path.read_text())}
        assert used <= documented, (path.name, used - documented)


def test_the_services_start_in_order_with_health_checks():
    services = load(COMPOSE)["services"]
    assert set(services) == {"postgres", "redis", *COMMENTS_SERVICES}
    assert services["migrate"]["command"] == ["comments-service", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker", "notifier"):
        assert services[name]["command"] == ["comments-service", name if name != "api" else "serve"]
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "redis", "api", "worker"):
        check = services[name]["healthcheck"]
        assert not check.get("disable") and check["test"][0] in ("CMD", "CMD-SHELL"), name
    # the image's own check: /health/live of whichever role the container runs
    dockerfile_check = re.search(r'^\s*CMD (\[.*\])$', (DEPLOY.parent / "Dockerfile").read_text(), re.M)
    assert services["api"]["healthcheck"]["test"][1:] == json.loads(dockerfile_check.group(1))
    # one-shot and port-less processes have nothing the image's check could ask
    for name in ("migrate", "notifier"):
        assert services[name]["healthcheck"] == {"disable": True}


def test_the_worker_keeps_its_model_cache_on_a_volume():
    document = load(COMPOSE)
    worker = document["services"]["worker"]
    mounts = dict(volume.split(":", 1) for volume in worker["volumes"])
    assert "model-cache" in document["volumes"] and "model-cache" in mounts
    image_env = dockerfile_env()
    for variable in ("COMMENTS_TOXICITY_CACHE_DIR", "TORCH_HOME"):
        assert image_env[variable].startswith(mounts["model-cache"] + "/"), variable
    assert "postgres-data" in document["volumes"]


def test_every_variable_is_one_the_service_reads():
    known = settings_variable_names()
    services = load(COMPOSE)["services"]
    for name in COMMENTS_SERVICES:
        for variable in services[name]["environment"]:
            if variable.startswith("COMMENTS_"):
                assert variable in known, f"{name}: {variable} is read by nothing"
            else:
                assert read_by_package(variable), f"{name}: {variable} is read by nothing"


def test_each_process_gets_settings_that_load():
    """What each container would get, interpolated from the example env file: Settings accepts it
    and every process shares the one key and database."""
    document = merge(load(COMPOSE), load(MODEL_KIT_OVERRIDE))
    variables = {**example_variables(), "MODEL_KIT_DIR": "/srv/comments/model"}
    services = interpolate(document, variables)["services"]
    for name in COMMENTS_SERVICES:
        env = {**dockerfile_env(), **{k: str(v) for k, v in services[name]["environment"].items()}}
        settings = Settings.from_env(env)
        assert settings.security.secret_key == variables["COMMENTS_SECRET_KEY"], name
        assert settings.database.url == "postgresql://comments:pg-password@postgres:5432/comments"
        assert settings.redis.url == "redis://redis:6379/0"
        assert settings.database.migrate_on_start is False
    assert Settings.from_env(services["worker"]["environment"]).toxicity.model_dir == "/app/model"


def test_secrets_come_from_the_environment_never_the_file():
    text = COMPOSE.read_text()
    services = load(COMPOSE)["services"]
    for name in COMMENTS_SERVICES:
        env = services[name]["environment"]
        for variable in ("COMMENTS_SECRET_KEY", "COMMENTS_SECRET_KEY_PREVIOUS", "COMMENTS_METRICS_TOKEN"):
            assert re.fullmatch(r"\$\{" + variable + r"[:?\-}].*", env[variable]), (name, variable)
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "${POSTGRES_PASSWORD:?" in services["api"]["environment"]["COMMENTS_DATABASE_URL"]
    assert "token_urlsafe" not in text and not re.search(r"SECRET_KEY: [^$\s]", text)
