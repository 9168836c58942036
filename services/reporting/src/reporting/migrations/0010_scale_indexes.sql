-- Indicators (reporting/kpis.py) select one period's cases by the KPI's date basis (received_at as a
-- Beijing day, accepted_on, served_on or closed_on): one index per basis, so that a month is read
-- from its own rows instead of a scan of every case (bench/scale.py; measured in the README).
-- The expression is exactly the one kpis.query() writes, so the planner can match it.
CREATE INDEX case_view_received_day ON case_view (((received_at AT TIME ZONE 'Asia/Shanghai')::date));
CREATE INDEX case_view_accepted_on ON case_view (accepted_on) WHERE accepted_on IS NOT NULL;
CREATE INDEX case_view_served_on ON case_view (served_on) WHERE served_on IS NOT NULL;
CREATE INDEX case_view_closed_on ON case_view (closed_on) WHERE closed_on IS NOT NULL;
