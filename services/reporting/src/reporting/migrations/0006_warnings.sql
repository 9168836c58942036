-- The registrations early warnings count over (reporting.warnings): one row per case, by the
-- petitioners' unit and the issue type; read back when the warnings consumer starts.
CREATE TABLE warning_window (
    case_id     uuid PRIMARY KEY,
    unit        text NOT NULL,
    issue_type  text NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX warning_window_recent ON warning_window (received_at);
CREATE INDEX alerts_kind_recent ON alerts (kind, raised_at);
