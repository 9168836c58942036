-- Read models. Every row here can be dropped and rebuilt from the event stores (python -m reporting rebuild).

-- One row per case. Columns from different producers are filled as their events arrive, in any order.
CREATE TABLE case_view (
    case_id            uuid PRIMARY KEY,
    case_no            text,
    channel            text,
    received_at        timestamptz,
    receiving_unit     text,
    subsidiary         text,
    petitioner_unit    text,
    accused_unit       text,
    category           text,
    issue_type         text,
    anonymous          boolean,
    petitioner_count   integer,
    involved_count     integer,
    receipt_code_hash  text,
    assigned_unit      text,
    routing_status     text,
    routing_version    integer NOT NULL DEFAULT 0,
    accepted_on        date,
    rejected_on        date,
    legal_channel      text,
    unroutable_reason  text,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_view_receipt ON case_view (receipt_code_hash) WHERE receipt_code_hash IS NOT NULL;
CREATE INDEX case_view_received ON case_view (received_at DESC, case_id DESC);

CREATE TABLE case_deadlines (
    case_id      uuid NOT NULL,
    clock        text NOT NULL,
    starts_on    date,
    due_on       date,
    rolled_from  date,
    basis        text,
    met_on       date,
    late         boolean,
    PRIMARY KEY (case_id, clock)
);

-- The full timeline of each case: every event that touched it, from every service.
-- recorded_at is when reporting wrote it (clock time, not transaction start): what lag is measured by.
CREATE TABLE timeline (
    event_id     uuid PRIMARY KEY,
    case_id      uuid NOT NULL,
    source       text NOT NULL,
    type         text NOT NULL,
    version      integer NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_role   text,
    actor_unit   text,
    trace_id     text,
    detail       jsonb NOT NULL
);
CREATE INDEX timeline_case ON timeline (case_id, occurred_at);

-- Early warnings for people to look at (alert.raised.v1, reporting's own events).
CREATE TABLE alerts (
    alert_id     uuid PRIMARY KEY,
    kind         text NOT NULL,
    unit         text NOT NULL,
    case_id      uuid NOT NULL,
    raised_at    timestamptz NOT NULL,
    message      text NOT NULL
);
CREATE INDEX alerts_case ON alerts (case_id);
