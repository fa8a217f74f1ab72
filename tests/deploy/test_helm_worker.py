"""The chart's optional worker Deployment (`oncoresponse worker`, issue 17): rendered only with
`worker.replicas` above 0, the service's pod without HTTP, and selectors that never pick the other's pods.
Helpers and value sets are test_helm_chart.py's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.test_helm_chart import (
    CHART,
    KUBERNETES_VERSIONS,
    PRODUCTION_VALUES,
    RELEASE,
    VALUES,
    documents,
    helm,
    kubernetes_validate,
    needs_helm,
    only,
    render,
)

WORKER_VALUES: dict[str, Any] = {**PRODUCTION_VALUES, "worker": {"replicas": 2}}
WORKER_NAME = f"{RELEASE}-oncoresponse-worker"
# What the worker's container may differ in from the service's; everything else must be the same.
WORKER_OWN_FIELDS = {
    "name",
    "command",
    "args",
    "resources",
    "ports",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
}


def deployments(docs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The service's Deployment and the worker's, told apart by name."""
    (server,) = [
        doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] != WORKER_NAME
    ]
    (worker,) = [
        doc for doc in docs if doc["kind"] == "Deployment" and doc["metadata"]["name"] == WORKER_NAME
    ]
    return server, worker


def selects(selector: dict[str, str], deployment: dict[str, Any]) -> bool:
    """Whether a matchLabels/Service selector picks the Deployment's pods."""
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return selector.items() <= labels.items()


@pytest.fixture(scope="module")
def worker_docs() -> list[dict[str, Any]]:
    return documents(render(WORKER_VALUES))


@needs_helm
@pytest.mark.parametrize("values", [None, {"worker": {"replicas": 0}}, {**PRODUCTION_VALUES, "worker": {}}])
def test_no_worker_deployment_without_worker_replicas(values: dict[str, Any] | None) -> None:
    """worker.replicas 0 (the default) renders no worker Deployment: the service's is the only one."""
    (deployment,) = [doc for doc in documents(render(values)) if doc["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == f"{RELEASE}-oncoresponse"


@needs_helm
def test_worker_deployment_runs_the_worker_command(worker_docs: list[dict[str, Any]]) -> None:
    """With worker.replicas 2, a second Deployment runs `oncoresponse worker` (the image's CMD is serve)."""
    _, worker = deployments(worker_docs)
    (process,) = worker["spec"]["template"]["spec"]["containers"]
    assert worker["spec"]["replicas"] == 2
    assert [*process.get("command", []), *process.get("args", [])] == ["oncoresponse", "worker"]
    assert process["image"] == "registry.example.org/oncoresponse:0.1.0"


@needs_helm
def test_worker_pod_is_the_service_pod_without_http(worker_docs: list[dict[str, Any]]) -> None:
    """Same settings ConfigMap, secret env, security contexts, /tmp and mappings; no ports, no probes."""
    server, worker = deployments(worker_docs)
    server_pod, worker_pod = server["spec"]["template"]["spec"], worker["spec"]["template"]["spec"]
    (server_container,) = server_pod["containers"]
    (worker_container,) = worker_pod["containers"]
    assert not {"ports", "livenessProbe", "readinessProbe", "startupProbe"} & set(worker_container)
    assert worker_container["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-oncoresponse"}}]
    assert {env["name"] for env in worker_container["env"]} == {
        "ONCO_DATABASE_URL",
        "ONCO_API_TOKENS",
        "ONCO_FHIR_TOKEN",
    }
    assert {"tmp", "mappings"} <= {mount["name"] for mount in worker_container["volumeMounts"]}
    assert worker_container["resources"] == VALUES["worker"]["resources"]
    shared = {key: value for key, value in server_container.items() if key not in WORKER_OWN_FIELDS}
    assert {key: value for key, value in worker_container.items() if key not in WORKER_OWN_FIELDS} == shared
    own_pod_fields = {"containers", "terminationGracePeriodSeconds"}
    assert {key: value for key, value in worker_pod.items() if key not in own_pod_fields} == {
        key: value for key, value in server_pod.items() if key not in own_pod_fields
    }
    assert (
        worker["spec"]["template"]["metadata"]["annotations"]
        == server["spec"]["template"]["metadata"]["annotations"]
    )


@needs_helm
def test_worker_grace_period_outlasts_its_15_second_stop(worker_docs: list[dict[str, Any]]) -> None:
    """SIGTERM gives the evaluation and delivery workers up to 15 s, together, before the kubelet's
    SIGKILL (service/cli_worker.py)."""
    _, worker = deployments(worker_docs)
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 15


@needs_helm
def test_worker_and_service_selectors_do_not_overlap(worker_docs: list[dict[str, Any]]) -> None:
    """Neither Deployment's selector picks the other's pods; the Service, PDB and HPA stay on the service."""
    server, worker = deployments(worker_docs)
    assert selects(server["spec"]["selector"]["matchLabels"], server)
    assert selects(worker["spec"]["selector"]["matchLabels"], worker)
    assert not selects(server["spec"]["selector"]["matchLabels"], worker)
    assert not selects(worker["spec"]["selector"]["matchLabels"], server)
    assert not selects(only(worker_docs, "Service")["spec"]["selector"], worker)
    assert not selects(only(worker_docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"], worker)
    assert (
        only(worker_docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"]
        == server["metadata"]["name"]
    )


@needs_helm
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_worker_render_validates_against_kubernetes(worker_docs: list[dict[str, Any]], version: str) -> None:
    """With workers, every rendered object (both Deployments) passes the strict offline schemas."""
    assert len([doc for doc in worker_docs if doc["kind"] == "Deployment"]) == 2
    for doc in worker_docs:
        kubernetes_validate.validate(doc, version, strict=True)


@needs_helm
def test_chart_with_workers_lints_without_warnings() -> None:
    """helm lint --strict reports no error and no warning with the worker Deployment rendered."""
    report = helm.lint(CHART, WORKER_VALUES, strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    assert [msg for msg in report["messages"] if msg["severity"] >= 2] == []


@needs_helm
@pytest.mark.parametrize(("worker", "refused"), [({"replicas": -1}, "replicas"), ({"replica": 2}, "replica")])
def test_invalid_worker_values_are_refused(worker: dict[str, Any], refused: str) -> None:
    """A negative or misspelt worker replica count fails the render instead of running no workers silently."""
    with pytest.raises(helm.HelmValuesError, match=refused):
        render({"worker": worker})
