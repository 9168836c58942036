-- Early warnings acknowledged and closed by a person (alert.acknowledged.v1, alert.closed.v1), and
-- the evidence of a warning over many cases (alert.raised.v1's optional fields). Every column is
-- filled from reporting's own events, so a rebuild restores them (reporting.warnings.RESTORE).
ALTER TABLE alerts
    ADD COLUMN state                text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'closed')),
    ADD COLUMN acknowledged_by      text,
    ADD COLUMN acknowledged_at      timestamptz,
    ADD COLUMN acknowledgement_note text,
    ADD COLUMN closed_by            text,
    ADD COLUMN closed_at            timestamptz,
    ADD COLUMN outcome              text,
    ADD COLUMN resolution           text,
    ADD COLUMN case_ids             text[],
    ADD COLUMN about_unit           text,
    ADD COLUMN issue_type           text,
    ADD COLUMN window_start         timestamptz,
    ADD COLUMN window_end           timestamptz,
    ADD COLUMN threshold            integer,
    ADD COLUMN count                integer,
    ADD COLUMN baselines            jsonb,
    ADD COLUMN period               text;
CREATE INDEX alerts_state_recent ON alerts (state, raised_at DESC);

-- every registration the warnings count over (not only those naming the petitioners' unit): by
-- subsidiary for 同比/环比, and the case's own facts for the rules its later events trigger
ALTER TABLE warning_window ALTER COLUMN unit DROP NOT NULL, ADD COLUMN subsidiary text;

-- the unit that must meet each duty clock (deadline.set.v1), read when its breach arrives
CREATE TABLE warning_clocks (
    case_id uuid NOT NULL,
    clock   text NOT NULL,
    unit    text NOT NULL,
    PRIMARY KEY (case_id, clock)
);

-- the breached duty clocks per responsible unit (overdue clusters)
CREATE TABLE warning_breaches (
    case_id uuid NOT NULL,
    clock   text NOT NULL,
    unit    text NOT NULL,
    on_day  date NOT NULL,
    PRIMARY KEY (case_id, clock)
);
CREATE INDEX warning_breaches_recent ON warning_breaches (on_day);

-- registrations intake flagged as a 信访老户's, with the person's earlier cases it linked (case ids
-- only: reporting never learns who the person is)
CREATE TABLE warning_frequent (
    case_id     uuid PRIMARY KEY,
    received_at timestamptz NOT NULL,
    linked      text[] NOT NULL
);
CREATE INDEX warning_frequent_recent ON warning_frequent (received_at);

-- an existing deployment starts from what the projector already holds (a fresh one has nothing here):
-- every registration, the unit of each duty clock, and the breaches, so that the first periods
-- after the upgrade are not compared against empty ones
UPDATE warning_window w SET subsidiary = v.subsidiary FROM case_view v WHERE v.case_id = w.case_id;
INSERT INTO warning_window (case_id, unit, subsidiary, issue_type, received_at)
SELECT case_id, petitioner_unit, subsidiary, issue_type, received_at FROM case_view
 WHERE received_at IS NOT NULL AND issue_type IS NOT NULL
ON CONFLICT DO NOTHING;
INSERT INTO warning_clocks (case_id, clock, unit)
SELECT case_id, clock, unit FROM case_deadlines WHERE kind = 'duty' AND unit IS NOT NULL;
INSERT INTO warning_breaches (case_id, clock, unit, on_day)
SELECT case_id, clock, unit, breached_on FROM case_deadlines WHERE kind = 'duty' AND unit IS NOT NULL AND breached_on IS NOT NULL;
