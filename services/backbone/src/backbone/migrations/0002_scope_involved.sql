-- Who else takes part in a case (first handler, sender, assisting and reviewing units ...) and which
-- principals must never see it (accused persons, handlers who withdrew): backbone.visibility.
ALTER TABLE case_scope ADD COLUMN involved text[] NOT NULL DEFAULT '{}';
ALTER TABLE case_scope ADD COLUMN excluded text[] NOT NULL DEFAULT '{}';
CREATE INDEX case_scope_involved ON case_scope USING gin (involved);
