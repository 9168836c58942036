-- The case's routing state as one document (the fold of routing's stream, routing.domain.RoutingCase);
-- the columns beside it are what lists filter and sort on.
ALTER TABLE cases ADD COLUMN state jsonb;
UPDATE cases SET state = jsonb_build_object(
    'facts', jsonb_build_object('case_id', case_id, 'receiving_unit', receiving_unit, 'petitioner_unit', petitioner_unit,
                                'subsidiary', subsidiary, 'category', category, 'issue_type', issue_type,
                                'accused_unit', accused_unit),
    'case_no', case_no, 'received_at', received_at, 'unit', unit, 'status', status, 'version', version,
    'category', category, 'issue_type', issue_type, 'accused_unit', accused_unit, 'first_unit', unit,
    'reject_reason_sealed', reject_reason_sealed, 'legal_channel', legal_channel,
    'unroutable_reason', unroutable_reason);
ALTER TABLE cases ALTER COLUMN state SET NOT NULL;
ALTER TABLE cases ALTER COLUMN status DROP NOT NULL;
ALTER TABLE cases DROP COLUMN receiving_unit, DROP COLUMN petitioner_unit, DROP COLUMN category,
    DROP COLUMN issue_type, DROP COLUMN accused_unit, DROP COLUMN reject_reason_sealed, DROP COLUMN legal_channel,
    DROP COLUMN unroutable_reason;
CREATE INDEX cases_status ON cases (status, received_at DESC, case_id DESC);
