"""The Helm chart (deploy/helm/comments-service), rendered by Helm's engine and checked against the
Kubernetes schemas and against the service it deploys. No cluster: render and validate."""

from __future__ import annotations

import copy
import re
from typing import Any

import helm_python as helm
import pytest

from comments_service import metrics
from comments_service.settings import Settings
from tests.deploy.manifests import (
    CHART,
    KUBERNETES_VERSION,
    MINIMAL_VALUES,
    ROOT,
    SECRET_VALUES,
    api_health_paths,
    by_kind,
    containers,
    environment_of,
    manifests,
    read_by_package,
    settings_variable_names,
    validate_kubernetes,
    validate_service_monitor,
    worker_probe_paths,
)

# an operator's own Secret, fixed replica counts without autoscaling, a previous key mid-rotation
EXISTING_SECRET_VALUES = {
    "secrets": {"existingSecret": "comments-from-vault"},
    "api": {"replicas": 4, "workers": 2, "autoscaling": {"enabled": False}, "pdb": {"maxUnavailable": 2}},
    "worker": {"replicas": 3, "autoscaling": {"enabled": False}, "image": {"repository": ""},
               "modelCache": {"enabled": True, "existingClaim": "comments-model-cache"}},
    "notifier": {"replicas": 2},
    "metrics": {"serviceMonitor": {"labels": {"release": "kube-prometheus"}}},
    "extraEnv": [{"name": "COMMENTS_LOG_LEVEL", "value": "WARNING"}],
}
VARIANTS = {"minimal": MINIMAL_VALUES, "existing-secret": EXISTING_SECRET_VALUES}
SECRET_VARIABLES = {"COMMENTS_SECRET_KEY", "COMMENTS_SECRET_KEY_PREVIOUS", "COMMENTS_DATABASE_URL",
                    "COMMENTS_REDIS_URL", "COMMENTS_METRICS_TOKEN", "COMMENTS_SMTP_URL"}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def rendered(request) -> tuple[str, list[dict[str, Any]]]:
    return request.param, manifests(VARIANTS[request.param])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_chart_passes_helm_lint_strict(variant):
    report = helm.lint(str(CHART), VARIANTS[variant], strict=True, kube_version=f"v{KUBERNETES_VERSION}")
    serious = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not serious, report


def test_every_manifest_matches_its_kubernetes_schema(rendered):
    variant, objects = rendered
    kinds = {o["kind"] for o in objects}
    expected = {"Deployment", "Service", "Job", "PodDisruptionBudget", "ServiceMonitor"}
    # the variant fixes replica counts instead
    expected |= {"Secret", "HorizontalPodAutoscaler"} if variant == "minimal" else set()
    assert expected <= kinds, kinds
    for obj in objects:
        validate_kubernetes(obj)


def test_the_schema_checks_reject_a_misspelled_field():
    """The validators bite: strict Kubernetes schemas and the ServiceMonitor's alike."""
    import kubernetes_validate

    objects = manifests(MINIMAL_VALUES)
    api = copy.deepcopy(by_kind(objects, "Deployment")[f"{_fullname()}-api"])
    api["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/", "port": 80}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_kubernetes(api)
    monitor = copy.deepcopy(next(iter(by_kind(objects, "ServiceMonitor").values())))
    monitor["spec"]["endpoints"][0]["bearerTokenSecrett"] = {"name": "x", "key": "y"}
    with pytest.raises(AssertionError, match="bearerTokenSecrett"):
        validate_service_monitor(monitor)


def test_rendering_without_the_secrets_fails_naming_the_value():
    with pytest.raises(helm.HelmError, match=r"secrets\.values\.secretKey must be set"):
        manifests({})
    no_token = {"secrets": {"values": {**SECRET_VALUES, "metricsToken": ""}}}
    with pytest.raises(helm.HelmError, match=r"secrets\.values\.metricsToken"):
        manifests(no_token)
    clash = {**MINIMAL_VALUES, "env": {"COMMENTS_DATABASE_URL": "postgresql://inline"}}
    with pytest.raises(helm.HelmError, match=r"env\.COMMENTS_DATABASE_URL is set by the chart"):
        manifests(clash)


def test_the_migration_job_runs_before_install_and_upgrade_after_its_secret(rendered):
    variant, objects = rendered
    (job,) = by_kind(objects, "Job").values()
    notes = job["metadata"]["annotations"]
    assert set(notes["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["comments-service", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    secrets = by_kind(objects, "Secret")
    if variant == "existing-secret":
        assert not secrets  # the operator's Secret exists before the release
        return
    (secret,) = secrets.values()
    # the Job reads the Secret, so the Secret is a hook too, created first
    assert set(secret["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(notes["helm.sh/hook-weight"])


def test_processes_do_not_migrate_at_start_while_the_job_does():
    for values, expected in ((MINIMAL_VALUES, "false"), ({**MINIMAL_VALUES, "migration": {"enabled": False}}, "true")):
        objects = manifests(values)
        assert ("Job" in {o["kind"] for o in objects}) == (expected == "false")
        for _, container in containers(objects):
            env = {e["name"]: e.get("value") for e in container["env"]}
            assert env["COMMENTS_MIGRATE_ON_START"] == expected, container["name"]


def test_probes_ask_routes_the_service_answers_on_the_port_it_listens_on(rendered):
    _, objects = rendered
    deployments = by_kind(objects, "Deployment")
    api = _container(deployments[f"{_fullname()}-api"])
    worker = _container(deployments[f"{_fullname()}-worker"])
    for container, routes, port_variable in ((api, api_health_paths(), "COMMENTS_PORT"),
                                             (worker, worker_probe_paths(), "COMMENTS_WORKER_PORT")):
        env = {e["name"]: e.get("value") for e in container["env"]}
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        probes = {kind: container[kind] for kind in ("livenessProbe", "readinessProbe", "startupProbe")}
        assert probes["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert probes["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        for kind, probe in probes.items():
            assert probe["httpGet"]["path"] in routes, (container["name"], kind, routes)
            assert ports[probe["httpGet"]["port"]] == int(env[port_variable]), (container["name"], kind)
    assert {"/health/live", "/health/ready", "/metrics"} <= worker_probe_paths()


def test_every_variable_is_one_the_service_reads(rendered):
    _, objects = rendered
    known = settings_variable_names()
    assert {"COMMENTS_SECRET_KEY", "COMMENTS_DATABASE_URL", "COMMENTS_TOXICITY_MODEL_DIR"} <= known
    for workload, container in containers(objects):
        for entry in container["env"]:
            name = entry["name"]
            if name.startswith("COMMENTS_"):
                assert name in known, f"{workload['metadata']['name']}: {name} is read by nothing"
            else:
                assert read_by_package(name), f"{workload['metadata']['name']}: {name} is read by nothing"


def test_each_process_gets_settings_that_load(rendered):
    """The environment each container would get, Secrets resolved, is one Settings accepts."""
    variant, objects = rendered
    secrets = {name: s["stringData"] for name, s in by_kind(objects, "Secret").items()}
    if variant == "existing-secret":
        keys = MINIMAL_VALUES["secrets"]["values"]
        secrets["comments-from-vault"] = {"secret-key": keys["secretKey"], "database-url": keys["databaseUrl"],
                                          "redis-url": keys["redisUrl"], "metrics-token": keys["metricsToken"]}
    for workload, container in containers(objects):
        env = environment_of(container, secrets)
        settings = Settings.from_env(env)
        assert settings.security.secret_key == SECRET_VALUES["secretKey"], workload["metadata"]["name"]
        assert settings.database.url == SECRET_VALUES["databaseUrl"]
        assert settings.database.migrate_on_start is False


def test_secrets_are_referenced_never_inlined(rendered):
    variant, objects = rendered
    secret_name = "comments-from-vault" if variant == "existing-secret" else f"{_fullname()}-secrets"
    for workload, container in containers(objects):
        for entry in container["env"]:
            if entry["name"] in SECRET_VARIABLES:
                assert "value" not in entry, (workload["metadata"]["name"], entry["name"])
                assert entry["valueFrom"]["secretKeyRef"]["name"] == secret_name
    for obj in objects:
        if obj["kind"] == "Secret":
            continue
        text = repr(obj)
        for value in SECRET_VALUES.values():
            assert value not in text, f"{obj['kind']} {obj['metadata']['name']} carries a secret value"


def test_replicas_follow_the_values_when_autoscaling_is_off():
    objects = manifests(EXISTING_SECRET_VALUES)
    deployments = by_kind(objects, "Deployment")
    assert deployments[f"{_fullname()}-api"]["spec"]["replicas"] == 4
    assert deployments[f"{_fullname()}-worker"]["spec"]["replicas"] == 3
    assert deployments[f"{_fullname()}-notifier"]["spec"]["replicas"] == 2
    assert not by_kind(objects, "HorizontalPodAutoscaler")
    api_env = {e["name"]: e.get("value") for e in _container(deployments[f"{_fullname()}-api"])["env"]}
    # several uvicorn processes in a pod share their metrics through a directory
    assert api_env["COMMENTS_WORKERS"] == "2" and api_env["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/metrics"
    worker = deployments[f"{_fullname()}-worker"]
    assert _container(worker)["image"] == "comments-service:0.1.0"  # the API's image, no baked model
    volumes = {v["name"]: v for v in worker["spec"]["template"]["spec"]["volumes"]}
    assert volumes["model-cache"]["persistentVolumeClaim"]["claimName"] == "comments-model-cache"


def test_autoscalers_scale_the_api_on_cpu_and_workers_on_queue_age_with_a_cpu_fallback():
    objects = manifests(MINIMAL_VALUES)
    deployments = by_kind(objects, "Deployment")
    autoscalers = by_kind(objects, "HorizontalPodAutoscaler")
    assert set(autoscalers) == {f"{_fullname()}-api", f"{_fullname()}-worker"}
    for hpa in autoscalers.values():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        assert "replicas" not in deployments[target["name"]]["spec"]  # the autoscaler owns the count
    api_metrics = autoscalers[f"{_fullname()}-api"]["spec"]["metrics"]
    assert [m["resource"]["name"] for m in api_metrics if m["type"] == "Resource"] == ["cpu"]
    worker_metrics = {m["type"]: m for m in autoscalers[f"{_fullname()}-worker"]["spec"]["metrics"]}
    external = worker_metrics["External"]["external"]
    # the gauge the API exports for the age of the oldest comment waiting for scoring
    assert external["metric"]["name"] == metrics.QUEUE_OLDEST._name
    assert external["metric"]["selector"]["matchLabels"]["service"] == f"{_fullname()}-api"
    assert external["target"]["type"] == "Value"
    assert worker_metrics["Resource"]["resource"]["name"] == "cpu"


def test_disruption_budgets_and_services_select_their_pods(rendered):
    _, objects = rendered
    pods = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in by_kind(objects, "Deployment").items()}

    def selects(selector: dict[str, str]) -> set[str]:
        return {name for name, labels in pods.items() if selector.items() <= labels.items()}

    budgets = by_kind(objects, "PodDisruptionBudget")
    assert {n for b in budgets.values() for n in selects(b["spec"]["selector"]["matchLabels"])} == {
        f"{_fullname()}-api", f"{_fullname()}-worker"}
    for budget in budgets.values():
        assert len(selects(budget["spec"]["selector"]["matchLabels"])) == 1
    services = by_kind(objects, "Service")
    assert selects(services[f"{_fullname()}-api"]["spec"]["selector"]) == {f"{_fullname()}-api"}
    assert selects(services[f"{_fullname()}-worker"]["spec"]["selector"]) == {f"{_fullname()}-worker"}


def test_the_service_monitor_scrapes_the_api_and_workers_with_the_metrics_token(rendered):
    variant, objects = rendered
    (monitor,) = by_kind(objects, "ServiceMonitor").values()
    services = by_kind(objects, "Service")
    selector = monitor["spec"]["selector"]
    (expression,) = selector["matchExpressions"]
    chosen = {name for name, s in services.items() if selector["matchLabels"].items() <= s["metadata"]["labels"].items()
              and s["metadata"]["labels"][expression["key"]] in expression["values"]}
    assert chosen == {f"{_fullname()}-api", f"{_fullname()}-worker"}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    deployments = by_kind(objects, "Deployment")
    for name in chosen:
        port = next(p for p in services[name]["spec"]["ports"] if p["name"] == endpoint["port"])
        container = _container(deployments[name])
        assert port["targetPort"] in {p["name"] for p in container["ports"]}
        env = {e["name"]: e for e in container["env"]}
        # the pod reads its token from the very key the scraper sends
        assert env["COMMENTS_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"] == {
            "name": endpoint["authorization"]["credentials"]["name"],
            "key": endpoint["authorization"]["credentials"]["key"]}
    if variant == "existing-secret":
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus"


def test_pods_run_as_the_images_user_with_a_read_only_root(rendered):
    _, objects = rendered
    dockerfile = (ROOT / "Dockerfile").read_text()
    uid = re.search(r"useradd [^\n]*--uid (\d+)", dockerfile).group(1)
    for workload, container in containers(objects):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert str(pod["securityContext"]["runAsUser"]) == uid
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert "/tmp" in mounts, workload["metadata"]["name"]


def test_resources_cover_the_memory_the_benchmarks_measured():
    """Requests and limits for every container; the memory limits above the RSS that BENCHMARKS.md
    measured for the API and for a worker with the model."""
    text = (ROOT / "BENCHMARKS.md").read_text()
    api_rss = max(float(x) for x in re.findall(r"RSS, API process \| [\d.]+ → ([\d.]+) MiB", text))
    worker_rss = max(float(x) for x in re.findall(r"RSS, scoring worker \| [\d.]+ → ([\d.]+) MiB", text))
    objects = manifests(MINIMAL_VALUES)
    limits = {}
    for workload, container in containers(objects):
        resources = container["resources"]
        assert resources["requests"]["cpu"] and resources["requests"]["memory"], workload["metadata"]["name"]
        limits[container["name"]] = _mebibytes(resources["limits"]["memory"])
        assert _mebibytes(resources["requests"]["memory"]) <= limits[container["name"]]
    assert limits["api"] >= 1.5 * api_rss, (limits["api"], api_rss)
    assert limits["worker"] >= 1.5 * worker_rss, (limits["worker"], worker_rss)


def test_the_api_memory_limit_holds_the_default_number_of_live_streams():
    """An API process serves live streams too: its RSS grows by what each open stream holds, so the
    limit must take the default cap of them (bench/sse_fanout.py's newest results), or a breaking
    story's readers would get the pod killed."""
    import json

    runs = sorted((ROOT / "bench").glob("results_sse_*.json"))
    assert runs, "no bench/results_sse_*.json"
    run = json.loads(runs[-1].read_text())
    per_stream_mb = max(stage["rss_kb_per_stream"] for stage in run["stages"]) / 1024
    cap = Settings.from_env({}).server.live_max_streams
    needed = run["rss_mb_idle"] + cap * per_stream_mb
    objects = manifests(MINIMAL_VALUES)
    api = next(c for _, c in containers(objects) if c["name"] == "api")
    assert _mebibytes(api["resources"]["limits"]["memory"]) >= 1.25 * needed, (api["resources"], needed)


def test_the_default_worker_image_is_the_one_that_carries_its_model():
    objects = manifests(MINIMAL_VALUES)
    worker = _container(by_kind(objects, "Deployment")[f"{_fullname()}-worker"])
    assert worker["image"] == "comments-service-worker:0.1.0"
    assert worker["command"] == ["comments-service", "worker"]


def _fullname() -> str:
    return "comments-comments-service"


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(Mi|Gi)", quantity).groups()
    return float(number) * (1024 if unit == "Gi" else 1)
