-- Supervision's file on each case as one document (supervision.domain.case.CaseFile), with the
-- columns lists filter on; every clock and every 督办 order also as a row of its own, for listings.
ALTER TABLE cases ADD COLUMN stage text NOT NULL DEFAULT 'registered';
ALTER TABLE cases ADD COLUMN version integer NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN next_check_on date;
ALTER TABLE cases ADD COLUMN state jsonb;

ALTER TABLE clocks ADD COLUMN kind text NOT NULL DEFAULT 'duty';
ALTER TABLE clocks ADD COLUMN unit text;
ALTER TABLE clocks ADD COLUMN paused_on date;
ALTER TABLE clocks ADD COLUMN extended_days integer NOT NULL DEFAULT 0;
ALTER TABLE clocks ADD COLUMN breached_on date;
ALTER TABLE clocks ADD COLUMN cancelled_on date;
UPDATE clocks k SET unit = c.unit FROM cases c WHERE c.case_id = k.case_id;

-- files written by the earlier layout: their facts and clocks, as the document
UPDATE cases c SET
    stage = CASE c.decision WHEN 'accepted' THEN 'accepted' WHEN 'rejected' THEN 'rejected'
                            ELSE CASE WHEN c.unit IS NULL THEN 'registered' ELSE 'assigned' END END,
    version = coalesce((SELECT max(e.version) FROM events e WHERE e.stream_id = c.case_id::text), 0),
    state = jsonb_build_object(
        'case_id', c.case_id, 'case_no', c.case_no, 'subsidiary', c.subsidiary, 'unit', c.unit,
        'received_on', c.received_on, 'decided_on', c.decided_on, 'decision', c.decision,
        'accepted_on', CASE WHEN c.decision = 'accepted' THEN c.decided_on END,
        'version', coalesce((SELECT max(e.version) FROM events e WHERE e.stream_id = c.case_id::text), 0),
        'clocks', coalesce((SELECT jsonb_object_agg(k.clock, jsonb_build_object(
            'name', k.clock, 'kind', 'duty', 'starts_on', k.starts_on, 'period', k.period,
            'unit_of_period', k.unit_of_period, 'basis', k.basis, 'unit', c.unit, 'due_on', k.due_on,
            'rolled_from', k.rolled_from, 'met_on', k.met_on, 'late', k.late))
            FROM clocks k WHERE k.case_id = c.case_id), '{}'::jsonb));
UPDATE cases SET state = jsonb_set(state, '{stage}', to_jsonb(stage));
ALTER TABLE cases ALTER COLUMN state SET NOT NULL;
ALTER TABLE cases DROP COLUMN received_on, DROP COLUMN decided_on, DROP COLUMN decision;
CREATE INDEX cases_next_check ON cases (next_check_on) WHERE next_check_on IS NOT NULL;
CREATE INDEX cases_stage ON cases (stage);
CREATE INDEX clocks_breached ON clocks (breached_on, case_id) WHERE met_on IS NULL AND cancelled_on IS NULL
    AND breached_on IS NOT NULL;

CREATE TABLE orders (
    case_id          uuid    NOT NULL,
    order_no         integer NOT NULL,
    ground           text    NOT NULL,
    level            text    NOT NULL,
    issued_by        text    NOT NULL,
    to_unit          text    NOT NULL,
    issued_on        date    NOT NULL,
    feedback_due_on  date    NOT NULL,
    feedback_on      date,
    late             boolean,
    escalations      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, order_no)
);
CREATE INDEX orders_open ON orders (feedback_due_on, case_id, order_no) WHERE feedback_on IS NULL;
CREATE INDEX orders_unit ON orders (to_unit);
CREATE INDEX cases_receipt ON cases ((state->>'receipt_code_hash')) WHERE state->>'receipt_code_hash' IS NOT NULL;
-- intake's sealed identity and summary (opened only to write statutory documents), kept beside the
-- file and out of the document every event reads and writes
ALTER TABLE cases ADD COLUMN petitioners_sealed text;
ALTER TABLE cases ADD COLUMN summary_sealed text;
