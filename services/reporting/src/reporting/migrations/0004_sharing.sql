-- 厂地联动 in the enterprise's view: with whom a case is shared, which preset, since when, revoked
-- when, and how many coordination actions each party recorded.
ALTER TABLE case_view ADD COLUMN shares jsonb NOT NULL DEFAULT '{}';
