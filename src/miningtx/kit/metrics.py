"""Prometheus metrics: requests by route and status, and latency histograms.

Under `mtx serve --workers N` the processes share PROMETHEUS_MULTIPROC_DIR and
/metrics aggregates them.
"""

from __future__ import annotations

import functools
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "mtx_http_requests_total",
    "HTTP requests by route template, method and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "mtx_http_request_duration_seconds",
    "HTTP request latency by route template and method",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def observe(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


@functools.cache
def _ratelimit_redis_up() -> Gauge:
    # Made on first use, so a deployment without Redis shows no such gauge rather than a 0.
    # Across `--workers N` the scrape shows the lowest live value: 0 if any process has
    # fallen back to memory.
    return Gauge(
        "mtx_ratelimit_redis_up",
        "1 while rate limits are counted in Redis (shared), 0 while in process memory",
        multiprocess_mode="livemin",
    )


def set_ratelimit_redis_up(*, up: bool) -> None:
    _ratelimit_redis_up().set(1 if up else 0)


def render() -> tuple[bytes, str]:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
