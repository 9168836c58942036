-- Which clocks of a case were met, and which of those late, on the case's own row: the indicators
-- that read clocks (及时受理率, 按期办结率) test an array instead of probing case_deadlines up to
-- three times per case (bench/scale.py at 100,000 cases: their p50 was 83-169 ms, the others 29-45).
ALTER TABLE case_view ADD COLUMN clocks_met text[] NOT NULL DEFAULT '{}';
ALTER TABLE case_view ADD COLUMN clocks_late text[] NOT NULL DEFAULT '{}';
UPDATE case_view v SET clocks_met = x.met, clocks_late = x.late
  FROM (SELECT case_id,
               coalesce(array_agg(clock ORDER BY clock) FILTER (WHERE met_on IS NOT NULL), '{}') AS met,
               coalesce(array_agg(clock ORDER BY clock) FILTER (WHERE met_on IS NOT NULL AND late), '{}') AS late
          FROM case_deadlines GROUP BY case_id) x
 WHERE x.case_id = v.case_id;
-- The dashboard's lists of clocks still open past their day (超期未办) and of 督办 orders awaiting
-- feedback: a few rows among every clock of every case, found by their own partial indexes.
CREATE INDEX case_deadlines_overdue ON case_deadlines (due_on)
  WHERE kind = 'duty' AND breached_on IS NOT NULL AND met_on IS NULL AND cancelled_on IS NULL;
CREATE INDEX case_deadlines_open_orders ON case_deadlines (due_on)
  WHERE clock LIKE 'order:%' AND met_on IS NULL AND cancelled_on IS NULL;
