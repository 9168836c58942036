-- Supervision's own view of each case: what it needs to run clocks and scope reads.
CREATE TABLE IF NOT EXISTS cases (
    case_id         uuid PRIMARY KEY,
    case_no         text,
    subsidiary      text,
    receiving_unit  text,
    unit            text,
    accused_unit    text,
    received_on     date,
    decided_on      date,
    decision        text
);

-- One row per running or finished statutory clock.
CREATE TABLE IF NOT EXISTS clocks (
    case_id      uuid NOT NULL,
    clock        text NOT NULL,
    starts_on    date NOT NULL,
    period       integer NOT NULL,
    unit_of_period text NOT NULL,
    due_on       date NOT NULL,
    rolled_from  date,
    basis        text NOT NULL,
    met_on       date,
    late         boolean,
    PRIMARY KEY (case_id, clock)
);
CREATE INDEX IF NOT EXISTS clocks_open_due ON clocks (due_on) WHERE met_on IS NULL;
