-- Routing's state of each case, written in the same transaction as the case's routing events
-- (so it is exactly the fold of routing's own stream, plus the facts of the registration).
CREATE TABLE cases (
    case_id               uuid PRIMARY KEY,
    case_no               text NOT NULL,
    received_at           timestamptz NOT NULL,
    receiving_unit        text NOT NULL,
    petitioner_unit       text,
    subsidiary            text,
    category              text NOT NULL,
    issue_type            text NOT NULL,
    accused_unit          text,
    unit                  text,
    status                text NOT NULL,
    version               integer NOT NULL,
    reject_reason_sealed  text,
    legal_channel         text,
    unroutable_reason     text
);
CREATE INDEX cases_unroutable ON cases (received_at) WHERE status = 'unroutable';
