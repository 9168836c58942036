-- Read models. Every row here can be dropped and rebuilt from the event log.

-- One row per case. Columns from different producers are filled as their events arrive, in any order.
CREATE TABLE IF NOT EXISTS case_view (
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
    receipt_code_hash  text UNIQUE,
    assigned_unit      text,
    routing_status     text,
    routing_version    integer NOT NULL DEFAULT 0,
    accepted_on        date,
    rejected_on        date,
    reject_reason      text,
    legal_channel      text,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS case_deadlines (
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
CREATE TABLE IF NOT EXISTS timeline (
    event_id     uuid PRIMARY KEY,
    case_id      uuid NOT NULL,
    source       text NOT NULL,
    type         text NOT NULL,
    version      integer NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    actor_role   text,
    actor_unit   text,
    trace_id     text,
    detail       jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS timeline_case ON timeline (case_id, occurred_at);
