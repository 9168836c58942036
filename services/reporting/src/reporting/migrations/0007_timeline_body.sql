-- Time travel: the timeline keeps each event whole (sealed fields stay sealed; reporting holds no
-- key), so a case can be folded again as it stood at any past moment (GET /cases/{id}?as_of=).
-- Rows written before this migration have none; a rebuild fills them.
ALTER TABLE timeline ADD COLUMN body jsonb;
