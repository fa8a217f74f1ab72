"""The Helm chart lints, renders to schema-valid Kubernetes objects, and maps its values onto Settings.

No cluster and no helm binary: helm_python renders offline with Helm's own Go library, and
kubernetes_validate checks each object against the API schemas it ships. Both come from the `check`
dependency group (`make install-check`); without them the rendering tests skip, while the values-to-
Settings mapping tests, which need neither, always run.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from service.config import Settings

try:
    import helm_python as helm
    import kubernetes_validate
    from yamllint import linter as yaml_linter
    from yamllint.config import YamlLintConfig
except ImportError:  # the `check` group is not installed
    helm = kubernetes_validate = yaml_linter = YamlLintConfig = None

needs_helm = pytest.mark.skipif(
    helm is None, reason="helm-python-sdk / kubernetes-validate / yamllint missing: run `make install-check`"
)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "oncoresponse"
VALUES = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
SCHEMA = yaml.safe_load((CHART / "values.schema.json").read_text(encoding="utf-8"))
RELEASE = "onco"
TMP = "/tmp"  # noqa: S108  # the path the chart must mount an emptyDir on, not a file this test writes
MAPPING_FILES = {path.name: path.read_text(encoding="utf-8") for path in (ROOT / "mappings").glob("*.yaml")}

# The floor in Chart.yaml's kubeVersion, and the newest API schemas kubernetes-validate ships offline.
KUBERNETES_VERSIONS = ["1.25.0", kubernetes_validate.latest_version() if kubernetes_validate else "latest"]

PRODUCTION_VALUES: dict[str, Any] = {
    "image": {"repository": "registry.example.org/oncoresponse", "tag": "0.1.0", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "registry-credentials"}],
    "config": {
        "env": "production",
        "logLevel": "WARNING",
        "logFormat": "json",
        "canonicalBase": "https://fhir.example.org/oncoresponse",
        "maxBundleBytes": 52428800,
        "maxEntries": 25000,
        "strictValidation": True,
        "subscriptionEndpoints": ["https://engine.example.org/hooks", "https://backup.example.org"],
    },
    "secrets": {
        "databaseUrl": {"name": "oncoresponse-db", "key": "url"},
        "apiTokens": {"name": "oncoresponse-api", "key": "tokens"},
    },
    "mappings": MAPPING_FILES,
    "autoscaling": {"minReplicas": 3, "maxReplicas": 12, "targetCPUUtilizationPercentage": 60},
    "resources": {"requests": {"cpu": "500m", "memory": "768Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    "podAnnotations": {"prometheus.io/scrape": "true"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "fhir", "effect": "NoSchedule"}],
}
VALUE_SETS: dict[str, dict[str, Any] | None] = {"default": None, "production": PRODUCTION_VALUES}

# Stand-ins for the Secret values a cluster would inject, so Settings can be built from a render.
FAKE_SECRET_ENV = {
    "ONCO_DATABASE_URL": "postgresql+asyncpg://onco:pw@db:5432/oncoresponse",
    "ONCO_API_TOKENS": "token-one,token-two",
}


def to_snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def given_config(value_set: str) -> dict[str, Any]:
    """values.yaml's config with the value set's overrides on top, as Helm merges them."""
    return {**VALUES["config"], **(VALUE_SETS[value_set] or {}).get("config", {})}


def render(values: dict[str, Any] | None) -> dict[str, str]:
    with helm.Chart.load(CHART) as chart:
        return chart.render(values, name=RELEASE, namespace="fhir")


def documents(manifests: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object in the render (NOTES.txt is text for the user, not a manifest)."""
    docs = []
    for path, text in manifests.items():
        if not path.endswith("NOTES.txt"):
            docs += [doc for doc in yaml.safe_load_all(text) if doc is not None]
    return docs


def only(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matches = [doc for doc in docs if doc["kind"] == kind]
    assert len(matches) == 1, f"expected one {kind}, got {len(matches)}"
    return matches[0]


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (service,) = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return service


def is_settings(config_map: dict[str, Any], docs: list[dict[str, Any]]) -> bool:
    """The ConfigMap the container loads with envFrom (the other one holds mapping files)."""
    names = {ref["configMapRef"]["name"] for ref in container(docs)["envFrom"]}
    return config_map["metadata"]["name"] in names


def settings_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    (settings,) = [doc for doc in docs if doc["kind"] == "ConfigMap" and is_settings(doc, docs)]
    return settings["data"]


@pytest.fixture(scope="module", params=list(VALUE_SETS))
def value_set(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def docs(value_set: str) -> list[dict[str, Any]]:
    return documents(render(VALUE_SETS[value_set]))


# --- values.yaml against the Settings class: no helm needed ------------------------------------------


def test_values_map_one_to_one_onto_settings() -> None:
    """Every config/secrets key is a Settings field, and every Settings field has exactly one key."""
    config_fields = {to_snake(key) for key in VALUES["config"]}
    secret_fields = {to_snake(key) for key in VALUES["secrets"]}
    assert not config_fields & secret_fields, "a setting is both plain config and a secret"
    missing = set(Settings.model_fields) - config_fields - secret_fields
    unknown = (config_fields | secret_fields) - set(Settings.model_fields)
    assert not missing, f"Settings fields with no key in helm values.yaml (config: or secrets:): {missing}"
    assert not unknown, f"values.yaml keys that are not Settings fields: {unknown}"


def test_secret_typed_settings_are_under_secrets() -> None:
    """A field typed with SecretStr is never a plain config value (it would land in a ConfigMap)."""
    fields = Settings.model_fields.items()
    secret_typed = {name for name, field in fields if SecretStr.__name__ in repr(field.annotation)}
    assert secret_typed, "no SecretStr field found: the check below would pass vacuously"
    assert secret_typed <= {to_snake(key) for key in VALUES["secrets"]}


def test_values_schema_names_exactly_the_settings_keys() -> None:
    """values.schema.json accepts exactly the config and secrets keys of values.yaml, so typos are refused."""
    properties = SCHEMA["properties"]
    assert set(properties["config"]["properties"]) == set(VALUES["config"])
    assert set(properties["secrets"]["properties"]) == set(VALUES["secrets"])
    assert properties["config"]["additionalProperties"] is False
    assert properties["secrets"]["additionalProperties"] is False


def test_chart_app_version_follows_the_project_version() -> None:
    """The chart's appVersion (the default image tag) is the version in pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == project["version"]


@needs_helm
@pytest.mark.parametrize("name", ["values.yaml", "Chart.yaml"])
def test_chart_yaml_files_pass_yamllint(name: str) -> None:
    """values.yaml and Chart.yaml pass yamllint's default rules (lines up to 110, no '---' required)."""
    config = YamlLintConfig("{extends: default, rules: {line-length: {max: 110}, document-start: disable}}")
    problems = list(yaml_linter.run((CHART / name).read_text(encoding="utf-8"), config))
    assert [str(problem) for problem in problems] == []


# --- lint and render with helm_python ---------------------------------------------------------------


@needs_helm
@pytest.mark.parametrize("value_set_name", list(VALUE_SETS))
def test_chart_lints_without_warnings(value_set_name: str) -> None:
    """helm lint --strict reports no error and no warning (an info such as 'icon is recommended' is fine)."""
    report = helm.lint(CHART, VALUE_SETS[value_set_name], strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    assert [msg for msg in report["messages"] if msg["severity"] >= 2] == []


@needs_helm
def test_render_produces_the_expected_objects(docs: list[dict[str, Any]], value_set: str) -> None:
    """A render holds the Deployment, Service, HPA, PDB and settings ConfigMap (plus mappings when given)."""
    config_maps = ["ConfigMap"] * (2 if value_set == "production" else 1)
    others = ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]
    assert sorted(doc["kind"] for doc in docs) == sorted([*config_maps, *others])


@needs_helm
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_kubernetes(docs: list[dict[str, Any]], version: str) -> None:
    """Each rendered object passes kubernetes-validate's strict (no unknown fields) offline schema."""
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


@needs_helm
def test_deployment_probes_liveness_and_readiness_endpoints(docs: list[dict[str, Any]]) -> None:
    """Liveness and startup probe /healthz, readiness probes /readyz, all on the named service port."""
    service = container(docs)
    assert service["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert service["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert service["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert service["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


@needs_helm
def test_deployment_runs_locked_down_as_the_image_user(docs: list[dict[str, Any]]) -> None:
    """The container runs as UID 10001, non-root, read-only root, no privilege escalation, no capabilities."""
    pod = only(docs, "Deployment")["spec"]["template"]["spec"]
    effective = {**pod["securityContext"], **container(docs)["securityContext"]}
    assert effective["runAsNonRoot"] is True
    assert effective["runAsUser"] == 10001
    assert effective["readOnlyRootFilesystem"] is True
    assert effective["allowPrivilegeEscalation"] is False
    assert effective["capabilities"] == {"drop": ["ALL"]}
    assert effective["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False


@needs_helm
def test_tmp_is_a_writable_empty_dir(docs: list[dict[str, Any]]) -> None:
    """With a read-only root filesystem, /tmp is an emptyDir volume."""
    pod = only(docs, "Deployment")["spec"]["template"]["spec"]
    (mount,) = [m for m in container(docs)["volumeMounts"] if m["mountPath"] == TMP]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume


@needs_helm
def test_deployment_sets_cpu_and_memory_bounds(docs: list[dict[str, Any]], value_set: str) -> None:
    """Requests and limits for CPU and memory are set, as the values give them."""
    resources = (VALUE_SETS[value_set] or VALUES)["resources"]
    assert container(docs)["resources"] == resources
    for bound in ("requests", "limits"):
        assert set(resources[bound]) == {"cpu", "memory"}


@needs_helm
def test_secret_settings_come_only_from_secret_refs(docs: list[dict[str, Any]], value_set: str) -> None:
    """The secret settings are secretKeyRefs to the named Secret and key, and never ConfigMap data."""
    secrets = {**VALUES["secrets"], **(VALUE_SETS[value_set] or VALUES)["secrets"]}  # Helm merges maps
    fallback = f"{RELEASE}-oncoresponse"  # an empty name means the release's full name
    expected = {
        f"ONCO_{to_snake(key).upper()}": {"name": ref["name"] or fallback, "key": ref["key"]}
        | ({"optional": True} if ref.get("optional") else {})
        for key, ref in secrets.items()
    }
    refs = {env["name"]: env["valueFrom"]["secretKeyRef"] for env in container(docs)["env"]}
    assert refs == expected
    assert set(refs) == {"ONCO_DATABASE_URL", "ONCO_API_TOKENS", "ONCO_FHIR_TOKEN"}
    assert refs["ONCO_FHIR_TOKEN"]["optional"] is True  # write-back without a static token still starts
    assert not set(refs) & set(settings_env(docs))


@needs_helm
def test_misspelt_config_key_is_refused() -> None:
    """A key that is no setting fails the render instead of being dropped silently by the service."""
    with pytest.raises(helm.HelmValuesError, match="logLevle"):
        render({"config": {"logLevle": "DEBUG"}})


@needs_helm
def test_configmap_keys_are_the_settings_env_names(docs: list[dict[str, Any]], value_set: str) -> None:
    """Each non-null config key becomes ONCO_<FIELD_NAME>, the variable pydantic-settings reads."""
    config = given_config(value_set)
    if value_set == "production":
        config["mappingsDir"] = VALUES["mappingsMountPath"]
    expected = {f"ONCO_{to_snake(key).upper()}" for key, value in config.items() if value is not None}
    assert set(settings_env(docs)) == expected


@needs_helm
def test_rendered_settings_are_accepted_by_the_service(
    docs: list[dict[str, Any]], value_set: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap plus the two secrets, as environment, validate into Settings with the values given."""
    for name in [name for name in os.environ if name.startswith("ONCO_")]:
        monkeypatch.delenv(name)
    for name, value in {**settings_env(docs), **FAKE_SECRET_ENV}.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    given = given_config(value_set)
    # Helm holds YAML numbers as floats: a naive render would give "2.097152e+07", which Settings refuses.
    assert settings.max_bundle_bytes == given["maxBundleBytes"]
    assert settings.max_entries == given["maxEntries"]
    assert settings.strict_validation is given["strictValidation"]
    assert settings.log_level == given["logLevel"]
    assert settings.host == "0.0.0.0"
    assert len(settings.api_tokens) == 2
    assert settings.subscription_endpoints == (given["subscriptionEndpoints"] or [])  # a list arrives as JSON


@needs_helm
def test_mappings_override_is_mounted_verbatim() -> None:
    """Given mapping files become a ConfigMap, mounted read-only where ONCO_MAPPINGS_DIR points."""
    docs = documents(render(PRODUCTION_VALUES))
    (files,) = [doc for doc in docs if doc["kind"] == "ConfigMap" and not is_settings(doc, docs)]
    assert files["data"] == MAPPING_FILES
    (mount,) = [m for m in container(docs)["volumeMounts"] if m["name"] == "mappings"]
    assert mount == {"name": "mappings", "mountPath": VALUES["mappingsMountPath"], "readOnly": True}
    assert settings_env(docs)["ONCO_MAPPINGS_DIR"] == VALUES["mappingsMountPath"]


@needs_helm
def test_mappings_and_mappings_dir_together_are_refused() -> None:
    """Mounting mapping files and also naming another mappingsDir is ambiguous, so the render fails."""
    with pytest.raises(helm.HelmRenderError, match="not both"):
        render({"mappings": MAPPING_FILES, "config": {"mappingsDir": "/srv/mappings"}})


@needs_helm
def test_hpa_owns_the_replica_count_only_when_enabled() -> None:
    """With autoscaling the Deployment leaves replicas to the HPA; without it, replicaCount applies."""
    scaled = documents(render(None))
    assert "replicas" not in only(scaled, "Deployment")["spec"]
    hpa = only(scaled, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    fixed = documents(render({"autoscaling": {"enabled": False}, "replicaCount": 4}))
    assert only(fixed, "Deployment")["spec"]["replicas"] == 4
    assert not [doc for doc in fixed if doc["kind"] == "HorizontalPodAutoscaler"]


@needs_helm
def test_service_hpa_and_pdb_point_at_the_deployment(docs: list[dict[str, Any]]) -> None:
    """The Service and PDB select the Deployment's pods; the HPA scales that Deployment."""
    deployment = only(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    service_selector = only(docs, "Service")["spec"]["selector"]
    pdb_selector = only(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    assert service_selector.items() <= pod_labels.items()
    assert pdb_selector.items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"] == service_selector
    target = only(docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


@needs_helm
def test_default_image_is_the_chart_app_version() -> None:
    """Without an image tag the Deployment runs the image tagged with the chart's appVersion."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert container(documents(render(None)))["image"] == f"oncoresponse:{chart['appVersion']}"
