-- The registrations of a person, newest first, by a btree with a limit. The GIN index on
-- registrations.keys answered "the latest 200 of this person" by fetching every registration the
-- person ever made and sorting them: a 信访老户 with thousands made each new registration of theirs
-- cost that much (measured: 8,000 registrations of one person, 20 detected together: 98 ms).
-- One row per key of a registration (its keyed identity hashes; never the identity itself).
CREATE TABLE registration_keys (
    key          text        NOT NULL,
    received_at  timestamptz NOT NULL,
    case_id      uuid        NOT NULL,
    PRIMARY KEY (key, received_at, case_id)
);
INSERT INTO registration_keys (key, received_at, case_id)
SELECT DISTINCT k, r.received_at, r.case_id FROM registrations r, unnest(r.keys) k;
DROP INDEX registrations_keys;
