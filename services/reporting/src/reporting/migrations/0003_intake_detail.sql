-- What intake now records about the people and the channel: 来访人数 and 人次 (every person who
-- came or signed), the truthfulness declaration, and where a skip-level petitioner was guided.
ALTER TABLE case_view ADD COLUMN visitor_count integer;
ALTER TABLE case_view ADD COLUMN person_times integer NOT NULL DEFAULT 1;
ALTER TABLE case_view ADD COLUMN declared_truthful boolean NOT NULL DEFAULT false;
ALTER TABLE case_view ADD COLUMN guidance text;
CREATE INDEX case_view_flags ON case_view USING gin (flags);
