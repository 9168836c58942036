-- Routing's own copy of what it needs to know about each petition (from petition.registered.v1).
CREATE TABLE IF NOT EXISTS petitions (
    case_id          uuid PRIMARY KEY,
    case_no          text NOT NULL,
    received_at      timestamptz NOT NULL,
    receiving_unit   text NOT NULL,
    petitioner_unit  text,
    subsidiary       text,
    category         text NOT NULL,
    issue_type       text NOT NULL,
    accused_unit     text
);
