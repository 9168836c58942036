-- The backbone's tables, created in every service's own schema.

-- Append-only event store; (stream_id, version) is the optimistic-concurrency guard.
CREATE TABLE IF NOT EXISTS events (
    position     bigserial   NOT NULL UNIQUE,
    stream_id    text        NOT NULL,
    version      integer     NOT NULL CHECK (version > 0),
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    envelope     jsonb       NOT NULL,
    PRIMARY KEY (stream_id, version)
);

-- Written in the same transaction as the events; the relay publishes and marks it.
-- Rows are kept after publishing: after the memory broker restarts they are published again.
CREATE TABLE IF NOT EXISTS outbox (
    position     bigserial   PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    value        bytea       NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (position) WHERE published_at IS NULL;

-- The broker incarnation this relay last published to.
CREATE TABLE IF NOT EXISTS relay_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    broker_epoch text
);

-- Idempotent consumers: one row per applied event, written in the effect's transaction.
CREATE TABLE IF NOT EXISTS processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    outcome      text        NOT NULL DEFAULT 'applied',
    applied_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- HTTP Idempotency-Key: the first answer is kept and replayed.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    principal    text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status       integer     NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);

-- Where each consumer is in each partition, per broker epoch, written in the effect's transaction.
-- Kafka's committed offsets are kept too (for lag monitoring), but a consumer resumes from here:
-- after the memory broker restarts, the new epoch has no positions and reading starts at 0.
CREATE TABLE IF NOT EXISTS consumer_positions (
    consumer     text    NOT NULL,
    topic        text    NOT NULL,
    partition    integer NOT NULL,
    epoch        text    NOT NULL,
    next_offset  bigint  NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
);
