-- Supervision's own view of each case: what it needs to run clocks (scope is in case_scope).
CREATE TABLE cases (
    case_id      uuid PRIMARY KEY,
    case_no      text,
    subsidiary   text,
    unit         text,
    received_on  date,
    decided_on   date,
    decision     text
);

-- One row per running or finished statutory clock.
CREATE TABLE clocks (
    case_id        uuid NOT NULL,
    clock          text NOT NULL,
    starts_on      date NOT NULL,
    period         integer NOT NULL,
    unit_of_period text NOT NULL,
    due_on         date NOT NULL,
    basis          text NOT NULL,
    rolled_from    date,
    met_on         date,
    late           boolean,
    PRIMARY KEY (case_id, clock)
);
CREATE INDEX clocks_open_due ON clocks (due_on, case_id, clock) WHERE met_on IS NULL;
