-- The indicators' counts per month, kept by the projector as cases change (reporting/rollup.py), so
-- that a KPI reads a few hundred rows whatever the length of the group's history, instead of every
-- case of its three months (bench/scale.py: p99 92 ms at 300,000 cases, growing with the history).
-- Derived from case_view, case_scope and kpi_exclusions alone: a rebuild empties and counts them again.

-- The definition each indicator's counts were made with (a digest of its conditions): a KPI whose
-- definition in deploy/seed/kpis.yaml differs is counted again (and read from case_view meanwhile).
CREATE TABLE kpi_definitions (
    kpi_id     text PRIMARY KEY,
    digest     text NOT NULL,
    counted_at timestamptz NOT NULL DEFAULT now()
);

-- Who may see a set of cases: case_scope's columns (backbone.visibility) once per distinct value,
-- so that the one visibility predicate applies to counts as it does to cases.
CREATE TABLE kpi_scope_classes (
    class_key        uuid PRIMARY KEY,     -- md5 of the columns below
    receiving_unit   text,
    responsible_unit text,
    accused_unit     text,
    involved         text[] NOT NULL,
    shared_with      text[] NOT NULL,
    excluded         text[] NOT NULL
);

-- What each case counts in each indicator now (one row per case and indicator, kept when the
-- case stops counting so that a change is always an update by key): the change of a case is its
-- new row minus its old one, added to the cells below.
CREATE TABLE kpi_contributions (
    case_id     uuid NOT NULL,
    kpi_id      text COLLATE "C" NOT NULL,
    month       date,                     -- the first day of the month of the KPI's date basis (none: unset)
    class_key   uuid NOT NULL,
    subsidiary  text,
    unit        text,
    channel     text,
    category    text,
    issue_type  text,
    collector   text,                     -- who collected the evaluation the KPI reads
    numerator   smallint NOT NULL,
    denominator smallint NOT NULL,
    excluded    smallint NOT NULL,        -- in the denominator but for an approved exclusion
    person_times integer NOT NULL,        -- the case's 人次 (the volumes beside the indicators)
    PRIMARY KEY (case_id, kpi_id)
);

-- The sums: per indicator, grouping (dim), month, the grouping's value ('' for none) and scope class.
-- The keys compare bytewise (COLLATE "C"): a batch's cells are sorted and looked up by them.
CREATE TABLE kpi_cells (
    kpi_id      text COLLATE "C" NOT NULL,
    dim         text COLLATE "C" NOT NULL,
    month       date NOT NULL,
    value       text COLLATE "C" NOT NULL,
    class_key   uuid NOT NULL,
    cases       integer NOT NULL,
    numerator   integer NOT NULL,
    denominator integer NOT NULL,
    excluded    integer NOT NULL,
    person_times bigint NOT NULL,
    PRIMARY KEY (kpi_id, dim, month, value, class_key)
);
