-- The backbone's tables, created in every service's own schema.

-- Append-only event store; (stream_id, version) is the optimistic-concurrency guard.
-- ``body`` is the envelope exactly as published (encoded once, when recorded; json keeps its text).
CREATE TABLE events (
    position     bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    stream_id    text        NOT NULL,
    version      integer     NOT NULL CHECK (version > 0),
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    traceparent  text,
    body         json        NOT NULL,
    PRIMARY KEY (stream_id, version)
);

-- Events the broker has not acknowledged yet, written in the same transaction as the events.
-- The relay deletes a row once the broker has it, so this table stays as small as the backlog.
-- After the memory broker restarts the relay republishes from ``events``, not from here.
CREATE TABLE outbox (
    position     bigint PRIMARY KEY
);

-- The broker incarnation this service's store was last published to in full.
CREATE TABLE relay_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    broker_epoch text    NOT NULL
);

-- Idempotent consumers: one row per applied event, written in the effect's transaction.
CREATE TABLE processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    outcome      text NOT NULL DEFAULT 'applied',
    PRIMARY KEY (consumer, event_id)
);

-- Where each consumer is in each partition, per broker epoch, written in the effect's transaction.
-- A consumer resumes from here; after the memory broker restarts, the new epoch has no positions.
CREATE TABLE consumer_positions (
    consumer     text    NOT NULL,
    topic        text    NOT NULL,
    partition    integer NOT NULL,
    epoch        text    NOT NULL,
    next_offset  bigint  NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
);

-- HTTP Idempotency-Key: the first answer is kept and replayed (never holding a secret in clear).
CREATE TABLE idempotency_keys (
    principal    text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status       integer     NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);

-- Who may see each case (backbone.visibility): the case's units, kept from the events in every
-- service, so that every service answers the same for the same principal and case.
CREATE TABLE case_scope (
    case_id             uuid PRIMARY KEY,
    received_at         timestamptz,
    receiving_unit      text,
    responsible_unit    text,
    responsible_version integer NOT NULL DEFAULT 0,
    accused_unit        text,
    shared_with         text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX case_scope_receiving ON case_scope (receiving_unit);
CREATE INDEX case_scope_responsible ON case_scope (responsible_unit);
CREATE INDEX case_scope_shared ON case_scope USING gin (shared_with);
CREATE INDEX case_scope_received ON case_scope (received_at DESC, case_id);
