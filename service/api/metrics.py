"""Prometheus metrics, one registry per app (no module-level singleton, so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "oncoresponse_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "oncoresponse_http_request_duration_seconds",
            "Time from receiving a request to sending the last byte of its answer, by route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

        self.deliveries = Counter(
            "oncoresponse_deliveries",
            "Outbox delivery attempts by kind (notification, handshake, heartbeat, write-back) and outcome "
            "(delivered, retry, rejected, failed).",
            ["kind", "outcome"],
            registry=self.registry,
        )

        self.evaluations = Gauge(
            "oncoresponse_evaluation_requests",
            "Reports owed (issue 17): evaluation requests pending, those failing (tried, no report yet), "
            "and those re-evaluating a patient after a knowledge-base or rules version change.",
            ["state"],
            registry=self.registry,
        )

    def evaluation_requests(self, pending: int, failing: int, reevaluating: int = 0) -> None:
        self.evaluations.labels("pending").set(pending)
        self.evaluations.labels("failing").set(failing)
        self.evaluations.labels("reevaluation").set(reevaluating)

    def delivery(self, kind: str, outcome: str) -> None:
        self.deliveries.labels(kind, outcome).inc()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Per request: the labelled children are looked up once per (method, route template, status), a
        bounded set, not on every request (``labels()`` takes a lock and builds a key each call)."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
