"""`GET /metrics` in Prometheus' text format (prometheus_client): open incidents by
severity, MTTA/MTTR of the deploy under way, commands handled and how long they took,
each network's connection, reconnects and send queue, the event loop's lag, alerts taken.

The figures are read when scraped: the database ones in one trip before encoding, the
rest from plain counters the core keeps (bot.command_stats, Transport.stats)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder

from bot.plugin import PluginAPI
from bot.web import Request, Response
from plugins.intake.health import LoopWatch
from plugins.metrics.service import MetricsService
from plugins.metrics.stats import Summary


@dataclass(slots=True)
class Figures:
    """What the database says at a scrape."""

    open_by_severity: dict[int, int] = field(default_factory=dict)
    deploy: int | None = None  # the deploy under way
    summary: Summary | None = None


class Metrics:
    def __init__(self, api: PluginAPI, watch: LoopWatch) -> None:
        self._api = api
        self._watch = watch
        self._figures = Figures()
        self.registry = CollectorRegistry(auto_describe=False)
        self.alerts = Counter(
            "deployday_alerts",
            "Alerts taken from Alertmanager webhooks, by what they did",
            ["outcome"],
            registry=self.registry,
        )
        self.registry.register(self)

    def count_alerts(self, kinds: Mapping[str, int]) -> None:
        for kind, n in kinds.items():
            self.alerts.labels(kind).inc(n)

    async def serve(self, request: Request) -> Response:
        self._figures = await self._read()
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(200, encoder(self.registry), content_type)

    async def _read(self) -> Figures:
        metrics = MetricsService.of(self._api)
        figures = Figures(await metrics.open_by_severity())
        scope = await metrics.deploy_scope()
        if scope is not None:
            figures.deploy = scope.deploy_id
            figures.summary = await metrics.summary(scope)
        return figures

    def collect(self) -> Iterator[Metric]:
        """The figures of this scrape, for the registry (a prometheus_client Collector)."""
        yield from self._incidents()
        yield from self._commands()
        yield from self._networks()
        lag = GaugeMetricFamily(
            "deployday_event_loop_lag_seconds", "How late the event loop last woke a sleeper"
        )
        lag.add_metric([], self._watch.lag)
        yield lag

    def _incidents(self) -> Iterator[Metric]:
        open_now = GaugeMetricFamily(
            "deployday_open_incidents", "Incidents open now, by severity", labels=["severity"]
        )
        for severity, n in sorted(self._figures.open_by_severity.items()):
            open_now.add_metric([str(severity)], n)
        yield open_now
        summary, deploy = self._figures.summary, self._figures.deploy is not None
        active = GaugeMetricFamily("deployday_deploy_active", "1 while a deploy day is under way")
        active.add_metric([], 1 if deploy else 0)
        yield active
        if summary is None:
            return
        for name, stats, what in (
            ("mtta", summary.tta, "acknowledge"),
            ("mttr", summary.ttr, "repair"),
        ):
            if stats.mean is not None:
                gauge = GaugeMetricFamily(
                    f"deployday_deploy_{name}_seconds",
                    f"Mean time to {what} of the deploy under way",
                )
                gauge.add_metric([], stats.mean.total_seconds())
                yield gauge
        total = GaugeMetricFamily(
            "deployday_deploy_incidents", "Incidents of the deploy under way", labels=["state"]
        )
        total.add_metric(["open"], summary.open)
        total.add_metric(["closed"], summary.total - summary.open)
        yield total

    def _commands(self) -> Iterator[Metric]:
        stats = self._api.command_stats
        handled = CounterMetricFamily(
            "deployday_commands",
            "Chat commands handled, by command and outcome",
            labels=["command", "outcome"],
        )
        for (command, outcome), n in sorted(stats.outcomes.items()):
            handled.add_metric([command, outcome.value], n)
        yield handled
        latency = HistogramMetricFamily(
            "deployday_command_duration_seconds",
            "Time from taking a command to handing its answer to the network",
            labels=["command"],
        )
        for command, histogram in sorted(stats.durations.items()):
            buckets = [(_le(bound), n) for bound, n in histogram.cumulative()]
            latency.add_metric([command], buckets, histogram.total)
        yield latency

    def _networks(self) -> Iterator[Metric]:
        connected = GaugeMetricFamily(
            "deployday_network_connected",
            "1 while connected and in every configured room",
            labels=["network", "kind"],
        )
        serving = GaugeMetricFamily(
            "deployday_network_serving",
            "1 where this instance answers (0: another instance holds the network)",
            labels=["network"],
        )
        reconnects = CounterMetricFamily(
            "deployday_network_reconnects", "Connections made after the first", labels=["network"]
        )
        queued = GaugeMetricFamily(
            "deployday_network_send_queue",
            "Lines or messages waiting to be sent",
            labels=["network"],
        )
        for n in self._api.networks():
            connected.add_metric([n.name, n.kind], int(n.connected))
            serving.add_metric([n.name], int(n.serving))
            reconnects.add_metric([n.name], n.reconnects)
            queued.add_metric([n.name], n.queued)
        yield from (connected, serving, reconnects, queued)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
