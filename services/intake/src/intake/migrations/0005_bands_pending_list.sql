-- Each registration puts 64 LSH band keys into this index; written one by one (fastupdate off)
-- they cost the request about as much as the rest of its transaction (measured: registrations
-- over HTTP fell from 195/s to 106/s). GIN's pending list batches them; detection is off the
-- request's path and reads the list as well as the index.
DROP INDEX registrations_bands;
CREATE INDEX registrations_bands ON registrations USING gin (bands) WHERE bands <> '{}';
-- The same text exactly (its whole signature), found by a btree with a limit: a flood of one
-- letter is linked without the band index reading every earlier copy (measured: with 6,000
-- identical letters the band search cost PostgreSQL 3.2 ms of CPU per registration).
ALTER TABLE registrations ADD COLUMN sig_hash bigint;
CREATE INDEX registrations_sig_hash ON registrations (sig_hash, received_at DESC) WHERE sig_hash IS NOT NULL;
