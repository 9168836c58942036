-- The clocks of a case past their day and not met (超期未受理, 超期未答复), on the case's row beside
-- those met: an indicator whose denominator is every case a clock fell due for (及时受理 + 超期受理
-- + 超期未受理, deploy/seed/kpis.yaml ``clock_due``) reads the two arrays.
ALTER TABLE case_view ADD COLUMN clocks_overdue text[] NOT NULL DEFAULT '{}';
UPDATE case_view v SET clocks_overdue = x.overdue
  FROM (SELECT case_id, array_agg(clock ORDER BY clock) AS overdue
          FROM case_deadlines WHERE breached_on IS NOT NULL AND met_on IS NULL AND cancelled_on IS NULL
         GROUP BY case_id) x
 WHERE x.case_id = v.case_id;
