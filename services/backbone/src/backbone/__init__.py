"""The shared backbone: event contract and envelope, event store + outbox, relay, idempotent
consumer, broker adapter, the visibility rule, authentication, HTTP plumbing, telemetry, runtime."""
