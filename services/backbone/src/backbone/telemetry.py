"""OpenTelemetry set-up for process entrypoints, and the span helpers every hop uses.

One trace follows each petition: the intake request's SERVER span, then for every event each
consumer's CONSUMER span, whose context the events it causes carry on. Those per-event spans are
sampled by the petition's trace (ParentBased: a petition not sampled at intake costs no span
anywhere; at most XF_TRACES_PER_S new traces a second, each with probability
XF_TRACE_SAMPLE_RATIO), and started with explicit times and no context switching,
because a span per event costs more than some handlers. Each batch published, and each batch a
consumer applies, gets one span of its own (``batch_span``), linked to the events' traces.

``setup`` is called only by process entrypoints. Spans carry identifiers (case id, event id, event
type) and classifications, never personal data.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import orjson
from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, TraceFlags

_provider: TracerProvider | None = None


class JsonLinesSpanExporter(SpanExporter):
    """Writes finished spans as JSON lines: what tests and operators read without a trace server."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for s in spans:
            ctx = s.get_span_context()
            lines.append(orjson.dumps({
                "trace_id": format(ctx.trace_id, "032x"),
                "span_id": format(ctx.span_id, "016x"),
                "parent_id": format(s.parent.span_id, "016x") if s.parent else None,
                "name": s.name,
                "kind": s.kind.name,
                "service": s.resource.attributes.get("service.name"),
                "start": s.start_time,
                "end": s.end_time,
                "status": s.status.status_code.name,
                "attributes": dict(s.attributes or {}),
                "links": [format(link.context.trace_id, "032x") for link in s.links],
            }))
        with self._lock, self._path.open("ab") as f:
            f.write(b"\n".join(lines) + b"\n")
        return SpanExportResult.SUCCESS


class PerSecondSampler(Sampler):
    """Starts at most ``per_second`` new traces a second (token bucket), each with probability
    ``ratio``: every petition is traced while traffic is light, and tracing costs a bounded amount
    when it is heavy (a traced petition costs about 1.5 ms of CPU across the services, measured).
    Decisions are per trace: a petition is traced everywhere or nowhere (ParentBased)."""

    def __init__(self, per_second: float, ratio: float = 1.0):
        self._ratio = TraceIdRatioBased(ratio)
        self._rate = per_second
        self._tokens = per_second
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):
        result = self._ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)
        if result.decision is not Decision.RECORD_AND_SAMPLE:
            return result
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._rate, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens < 1:
                return SamplingResult(Decision.DROP)
            self._tokens -= 1
        return result

    def get_description(self) -> str:
        return f"PerSecondSampler{{{self._rate}/s, {self._ratio.get_description()}}}"


def setup(
    service: str, role: str, traces_dir: Path | None, otlp_endpoint: str | None, sample_ratio: float = 1.0,
    traces_per_s: float = 20.0,
) -> TracerProvider:
    global _provider
    resource = Resource.create(
        {
            "service.name": service,
            "service.namespace": "xinfang",
            "process.role": role,
            # arize-phoenix groups traces by this attribute
            "openinference.project.name": "xinfang",
        }
    )
    provider = TracerProvider(resource=resource, sampler=ParentBased(PerSecondSampler(traces_per_s, sample_ratio)))
    if traces_dir is not None:
        exporter = JsonLinesSpanExporter(Path(traces_dir) / f"{service}-{role}-{os.getpid()}.jsonl")
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200, max_queue_size=65536))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces"), max_queue_size=65536)
        )
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown() -> None:
    if _provider is not None:
        _provider.shutdown()


def traceparent_of(span: Span) -> str | None:
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def current_traceparent() -> str | None:
    return traceparent_of(trace.get_current_span())


def is_sampled(traceparent: str | None) -> bool:
    """Whether the trace ``traceparent`` belongs to is recorded (its W3C flags say so)."""
    try:
        return len(traceparent) == 55 and bool(int(traceparent[-2:], 16) & 1)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def span_context(traceparent: str | None) -> SpanContext | None:
    """Parse a W3C traceparent (version 00) without the propagator's machinery."""
    parts = (traceparent or "").split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        ctx = SpanContext(int(parts[1], 16), int(parts[2], 16), is_remote=True, trace_flags=TraceFlags(int(parts[3], 16)))
    except ValueError:
        return None
    return ctx if ctx.is_valid else None


def batch_span(tracer: trace.Tracer, name: str, kind, traceparents: Sequence[str | None], start_ns: int,
               end_ns: int, attributes: dict) -> None:
    """One span for a batch of events: a child of the first traced event's trace, linked to the
    others'. A batch of untraced events gets none (so batches never use up the sampling budget)."""
    sampled = links(traceparents)
    if not sampled:
        return
    parent = trace.set_span_in_context(NonRecordingSpan(sampled[0].context))
    tracer.start_span(name, context=parent, kind=kind, start_time=start_ns, links=sampled[1:],
                      attributes=attributes).end(end_time=end_ns)


def links(traceparents: Sequence[str | None], limit: int = 100) -> list[Link]:
    out = []
    for tp in traceparents:
        ctx = span_context(tp)
        if ctx is not None and ctx.trace_flags.sampled:
            out.append(Link(ctx))
            if len(out) >= limit:
                break
    return out


def parent_context(traceparent: str | None) -> context.Context | None:
    """A context whose parent is ``traceparent`` (None: start a new trace)."""
    ctx = span_context(traceparent)
    return trace.set_span_in_context(NonRecordingSpan(ctx)) if ctx else None
