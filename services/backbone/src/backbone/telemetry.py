"""OpenTelemetry set-up for entrypoints, and the W3C traceparent helpers used on every hop.

``setup`` is called only by process entrypoints (API, relay, consumer). Library code uses the
API alone. Spans carry identifiers (case id, event id, event type), never personal data.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

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
            lines.append(
                json.dumps(
                    {
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
                    },
                    ensure_ascii=False,
                )
            )
        with self._lock, self._path.open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        return SpanExportResult.SUCCESS


def setup(service: str, role: str, traces_dir: Path | None, otlp_endpoint: str | None) -> TracerProvider:
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
    provider = TracerProvider(resource=resource)
    if traces_dir is not None:
        exporter = JsonLinesSpanExporter(Path(traces_dir) / f"{service}-{role}-{os.getpid()}.jsonl")
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces"))
        )
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown() -> None:
    if _provider is not None:
        _provider.shutdown()


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def context_from(traceparent: str | None) -> context.Context:
    if not traceparent:
        return context.Context()
    return propagate.extract({"traceparent": traceparent})


def kafka_headers() -> list[tuple[str, bytes]]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(k, v.encode()) for k, v in carrier.items()]


def context_from_headers(headers: Sequence[tuple[str, bytes]] | None) -> context.Context:
    carrier = {k: v.decode(errors="replace") for k, v in (headers or []) if v is not None}
    return propagate.extract(carrier)
