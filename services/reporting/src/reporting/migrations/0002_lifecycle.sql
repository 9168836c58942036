-- A case's whole life in the read model: where it is (stage), who answers for it, the reply, the
-- evaluation, the review chain, and every clock's state.
ALTER TABLE case_view ADD COLUMN urgent boolean NOT NULL DEFAULT false;
ALTER TABLE case_view ADD COLUMN threat boolean NOT NULL DEFAULT false;
ALTER TABLE case_view ADD COLUMN flags text[] NOT NULL DEFAULT '{}';
ALTER TABLE case_view ADD COLUMN suggestion text;
ALTER TABLE case_view ADD COLUMN first_unit text;
ALTER TABLE case_view ADD COLUMN moves integer NOT NULL DEFAULT 0;
ALTER TABLE case_view ADD COLUMN track text;
ALTER TABLE case_view ADD COLUMN leader text;
ALTER TABLE case_view ADD COLUMN handler text;
ALTER TABLE case_view ADD COLUMN supervision_version integer NOT NULL DEFAULT 0;
ALTER TABLE case_view ADD COLUMN stage text;
ALTER TABLE case_view ADD COLUMN extended boolean NOT NULL DEFAULT false;
ALTER TABLE case_view ADD COLUMN served_on date;
ALTER TABLE case_view ADD COLUMN agreement text;
ALTER TABLE case_view ADD COLUMN closed_on date;
ALTER TABLE case_view ADD COLUMN outcome text;
ALTER TABLE case_view ADD COLUMN evaluation_petition_office text;
ALTER TABLE case_view ADD COLUMN evaluation_petition_office_by text;
ALTER TABLE case_view ADD COLUMN evaluation_responsible_unit text;
ALTER TABLE case_view ADD COLUMN evaluation_responsible_unit_by text;
ALTER TABLE case_view ADD COLUMN review_level text;
ALTER TABLE case_view ADD COLUMN reviewing_unit text;
ALTER TABLE case_view ADD COLUMN final_on date;
ALTER TABLE case_view ADD COLUMN orders integer NOT NULL DEFAULT 0;

ALTER TABLE case_deadlines ADD COLUMN kind text NOT NULL DEFAULT 'duty';
ALTER TABLE case_deadlines ADD COLUMN unit text;
ALTER TABLE case_deadlines ADD COLUMN paused_on date;
ALTER TABLE case_deadlines ADD COLUMN breached_on date;
ALTER TABLE case_deadlines ADD COLUMN cancelled_on date;
ALTER TABLE case_deadlines ADD COLUMN extended_days integer NOT NULL DEFAULT 0;
