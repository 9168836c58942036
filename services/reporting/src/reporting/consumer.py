"""Reporting's consumer: every event of every service, into the read models.

Run:  python -m reporting.consumer
"""

from __future__ import annotations

from backbone.consumer import Delivery, serve
from backbone.contracts import TOPIC_INTAKE, TOPIC_ROUTING, TOPIC_SUPERVISION

from .config import Settings
from .projection import apply


def handle(d: Delivery) -> None:
    apply(d.conn, d.event)


def main() -> None:
    settings = Settings(service="reporting")
    serve("projector", [TOPIC_INTAKE, TOPIC_ROUTING, TOPIC_SUPERVISION], handle, settings)


if __name__ == "__main__":
    main()
