"""Turning measurements into the summary table, the aims verdict and RESULTS.md."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.loadgen import percentile

START = "<!-- results:start (written by python -m benchmarks.load; edit outside) -->"
END = "<!-- results:end -->"


@dataclass
class Sample:
    """One measurement window of one target, whichever tool produced it."""

    rps: float
    latencies_ms: list[float]
    requests: int
    errors: int
    elapsed_s: float
    #: Server process CPU seconds per request (warm-up included), when known.
    server_cpu_ms_per_request: float | None = None
    #: Share of one core the server process used over the window, when known.
    server_cpu_share: float | None = None
    #: Share of one core the load generator used over the window, when known.
    client_cpu_share: float | None = None

    def latency(self, fraction: float) -> float:
        return percentile(sorted(self.latencies_ms), fraction)


@dataclass
class Series:
    """Every round's sample of one target."""

    key: str
    title: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(s.rps for s in self.samples) if self.samples else 0.0

    def latency(self, fraction: float) -> float:
        merged = sorted(v for s in self.samples for v in s.latencies_ms)
        return percentile(merged, fraction)

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.samples)

    def mean_of(self, values: Sequence[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.fmean(known) if known else None


@dataclass(frozen=True)
class Comparison:
    database: str
    route: str
    target: Series
    baseline: Series
    aim: float

    @property
    def ratio(self) -> float:
        """Median over rounds of target/baseline measured in the same round."""
        pairs = [
            t.rps / b.rps
            for t, b in zip(self.target.samples, self.baseline.samples, strict=False)
            if b.rps > 0
        ]
        return statistics.median(pairs) if pairs else 0.0

    @property
    def met(self) -> bool:
        return self.ratio >= self.aim


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def summary_table(comparisons: Sequence[Comparison]) -> str:
    lines = [
        "| database | route | req/s | p50 ms | p99 ms | baseline | baseline req/s "
        "| baseline p50 ms | baseline p99 ms | ratio | aim | met |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for c in comparisons:
        t, b = c.target, c.baseline
        lines.append(
            f"| {c.database} | {c.route} | {t.rps:,.0f} | {_ms(t.latency(0.5))} "
            f"| {_ms(t.latency(0.99))} | {b.title} | {b.rps:,.0f} | {_ms(b.latency(0.5))} "
            f"| {_ms(b.latency(0.99))} | {c.ratio:.0%} | >= {c.aim:.0%} "
            f"| {'yes' if c.met else 'no'} |"
        )
    return "\n".join(lines)


def _optional(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def detail_table(series: Sequence[Series]) -> str:
    lines = [
        "| target | req/s per round | median req/s | p50 ms | p99 ms | requests | errors "
        "| server CPU ms/req | server CPU | client CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in series:
        per_round = ", ".join(f"{x.rps:,.0f}" for x in s.samples)
        lines.append(
            f"| {s.title} | {per_round} | {s.rps:,.0f} | {_ms(s.latency(0.5))} "
            f"| {_ms(s.latency(0.99))} | {sum(x.requests for x in s.samples):,} | {s.errors} "
            f"| {_optional(s.mean_of([x.server_cpu_ms_per_request for x in s.samples]), '{:.2f}')} "
            f"| {_optional(s.mean_of([x.server_cpu_share for x in s.samples]), '{:.0%}')} "
            f"| {_optional(s.mean_of([x.client_cpu_share for x in s.samples]), '{:.0%}')} |"
        )
    return "\n".join(lines)


def aims_lines(comparisons: Sequence[Comparison]) -> list[str]:
    return [
        f"- {c.database} {c.route}: {c.ratio:.0%} of {c.baseline.title} "
        f"(aim >= {c.aim:.0%}): **{'met' if c.met else 'not met'}**"
        for c in comparisons
    ]


def results_block(
    *,
    when: str,
    command: str,
    machine: Mapping[str, str],
    settings: Mapping[str, str],
    comparisons: Sequence[Comparison],
    series: Sequence[Series],
    checks: Sequence[str],
) -> str:
    parts = [
        START,
        f"## Latest figures ({when})",
        "",
        f"Command (from the repository root): `{command}`",
        "",
        summary_table(comparisons),
        "",
        "Ratio: median over rounds of (target req/s / baseline req/s in the same round). "
        "Latencies: percentiles over every request of every round.",
        "",
        "### Aims",
        *aims_lines(comparisons),
        "",
        "### Every measurement",
        detail_table(series),
        "",
        "### Checks after the load",
        *(f"- {line}" for line in checks),
        "",
        "### Machine",
        *(f"- {k}: {v}" for k, v in machine.items()),
        "",
        "### Settings",
        *(f"- {k}: {v}" for k, v in settings.items()),
        END,
    ]
    return "\n".join(parts)


def write_results(path: Path, block: str) -> None:
    """Replace the generated block of `path`, keeping the hand-written text around it."""
    text = path.read_text() if path.exists() else "# Load benchmark results\n\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
