-- Reporting's own facts about the indicators (kpi.exclusion_*.v1, governance.*.v1). Unlike the read
-- models, a rebuild does not empty these tables (store.reset truncates only the projections): each
-- row is written in the same statement as the event in reporting's store that it records.

-- 申请剔除: a handling unit asks that a case be left out of its rates; the level above decides.
CREATE TABLE kpi_exclusions (
    exclusion_id    uuid PRIMARY KEY,
    case_id         uuid NOT NULL,
    unit            text NOT NULL,          -- the handling unit whose rates the case counts in
    ground          text NOT NULL,
    reasons         text NOT NULL,
    approver_unit   text NOT NULL,          -- the level above (reporting.fairness.approver_of)
    requested_by    text NOT NULL,
    requested_at    timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'refused')),
    decided_by      text,
    decided_unit    text,
    decided_at      timestamptz,
    decision_reason text
);
-- one open (pending or approved) request per case; a refused one may be asked again
CREATE UNIQUE INDEX kpi_exclusions_open ON kpi_exclusions (case_id) WHERE state IN ('pending', 'approved');
CREATE INDEX kpi_exclusions_list ON kpi_exclusions (state, requested_at DESC, exclusion_id DESC);

-- 每月一题: a recurring issue headquarters picked, its owner, the systemic fix and its progress.
CREATE TABLE governance_issues (
    issue_id    uuid PRIMARY KEY,
    issue_type  text NOT NULL,
    subsidiary  text,                       -- null: group-wide
    month       text NOT NULL,              -- chosen in, 'YYYY-MM'
    why         text NOT NULL,
    owner_unit  text NOT NULL,
    owner       text NOT NULL,
    fix         text NOT NULL,
    starts_on   date NOT NULL,
    deadline    date NOT NULL,
    done_on     date,
    progress    jsonb NOT NULL DEFAULT '[]',
    opened_by   text NOT NULL,
    opened_at   timestamptz NOT NULL,
    version     integer NOT NULL DEFAULT 1
);
CREATE INDEX governance_issues_opened ON governance_issues (opened_at DESC, issue_id DESC);
