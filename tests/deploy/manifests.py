"""Helpers of the deployment tests: the Helm chart rendered by Helm's own engine, schema checks
and facts read from the service's code (the names settings.py reads, the health routes).

The chart is rendered with `helm-python-sdk`, which carries Helm's Go SDK as a library (no `helm`
binary, no cluster: `lookup` finds nothing). Kubernetes objects are checked with
`kubernetes-validate` (the API's OpenAPI schemas, strict: an unknown field is an error), the
Prometheus Operator's ServiceMonitor with the typed models of `cloudcoil-models-prometheus-operator`.
All of them are dev dependencies: a missing one fails the import, never skips.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "comments-service"
KUBERNETES_VERSION = "1.30.0"
RELEASE, NAMESPACE = "comments", "news"

# what an operator must give at the least when the chart makes the Secret
SECRET_VALUES = {
    "secretKey": "k" * 48,
    "databaseUrl": "postgresql://comments:db-password@postgres.db:5432/comments",
    "redisUrl": "redis://:redis-password@redis.cache:6379/0",
    "metricsToken": "scrape-token-0123456789",
}
MINIMAL_VALUES = {"secrets": {"values": SECRET_VALUES}}


def render(values: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` would print them."""
    with helm.Chart.load(str(CHART)) as chart:
        return chart.render(dict(values or {}), name=RELEASE, namespace=NAMESPACE)


def manifests(values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart renders with ``values``."""
    found = []
    for path, text in sorted(render(values).items()):
        if path.endswith(".txt"):
            continue
        found += [doc for doc in yaml.safe_load_all(text) if doc]
    return found


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container of every Deployment and Job."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            for container in obj["spec"]["template"]["spec"]["containers"]:
                yield obj, container


def validate_kubernetes(obj: dict[str, Any]) -> None:
    """Raises when ``obj`` does not match its schema; the ServiceMonitor against the CRD's models."""
    if obj["apiVersion"] == "monitoring.coreos.com/v1":
        validate_service_monitor(obj)
        return
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def validate_service_monitor(obj: dict[str, Any]) -> None:
    from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor

    assert obj["kind"] == "ServiceMonitor", obj["kind"]
    model = ServiceMonitor.model_validate(obj)
    # the models ignore fields they do not know: compare what they kept with what was written, so a
    # misspelled field fails here as it would in the cluster's schema
    kept = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
    dropped = sorted(_missing(obj, kept))
    assert not dropped, f"fields the ServiceMonitor schema does not know: {dropped}"


def _missing(written: Any, kept: Any, path: str = "") -> Iterator[str]:
    if isinstance(written, dict):
        for key, value in written.items():
            if not isinstance(kept, dict) or key not in kept:
                yield f"{path}.{key}"
            else:
                yield from _missing(value, kept[key], f"{path}.{key}")
    elif isinstance(written, list) and isinstance(kept, list):
        for i, (a, b) in enumerate(zip(written, kept, strict=False)):
            yield from _missing(a, b, f"{path}[{i}]")


# ---------------------------------------------------------------- facts from the service's code
class _Recorder(dict):
    """An environment that records every name the settings ask it for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return super().__getitem__(key)


def settings_variable_names() -> set[str]:
    """Every COMMENTS_* variable the service reads: what Settings.from_env asks for, and the few
    read straight from os.environ elsewhere in the package."""
    from comments_service.settings import Settings

    recorder = _Recorder()
    Settings.from_env(recorder)
    names = {name for name in recorder.asked if name.startswith("COMMENTS_")}
    for path in (ROOT / "comments_service").rglob("*.py"):
        names |= set(re.findall(r"os\.environ(?:\.get\(|\[)\"(COMMENTS_[A-Z0-9_]+)\"", path.read_text()))
    return names


def read_by_package(name: str) -> bool:
    """Whether the service (or a library setting it documents) reads the variable ``name``: a
    non-COMMENTS_ variable must at least be named in the package's code."""
    return any(name in path.read_text() for path in (ROOT / "comments_service").rglob("*.py"))


def api_health_paths() -> set[str]:
    from comments_service.api.health import HEALTH_ROUTES

    return {path for route in HEALTH_ROUTES for path in route.paths}


def worker_probe_paths() -> set[str]:
    """The paths the scoring worker's own listener answers (workers/probe_server.py)."""
    source = (ROOT / "comments_service" / "workers" / "probe_server.py").read_text()
    return set(re.findall(r'request\.path == b"([^"]+)"', source))


def dockerfile_env() -> dict[str, str]:
    """The ENV of the Dockerfile's runtime stage (what every container starts with)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stage = text.split("AS runtime", 1)[1].split("\nFROM ", 1)[0]
    env: dict[str, str] = {}
    for line in stage.splitlines():
        if line.startswith("ENV "):
            env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


def environment_of(container: dict[str, Any], secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """The variables a container gets, its Secret references resolved from ``secrets`` (name ->
    stringData); an optional reference to a key that is not there is left out, as the kubelet does."""
    env = dict(dockerfile_env())
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        data = secrets[ref["name"]]
        if ref["key"] in data:
            env[entry["name"]] = data[ref["key"]]
        else:
            assert ref.get("optional"), f"{entry['name']}: the Secret {ref['name']} has no key {ref['key']}"
    return env
