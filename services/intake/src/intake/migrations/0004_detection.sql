-- What the detection rules (deploy/seed/detection.yaml) match on besides persons' keys: where and
-- how the matter was received, the petitioner's own organisation (the competent level), the
-- numbers of people, whether the case is still being handled, and the text's MinHash signature
-- with its LSH band keys (never the text: the signature cannot be read back).
ALTER TABLE registrations
    ADD COLUMN receiving_unit text,
    ADD COLUMN channel text,
    ADD COLUMN competent text,
    ADD COLUMN petitioner_count int NOT NULL DEFAULT 0,
    ADD COLUMN involved_count int,
    ADD COLUMN closed boolean NOT NULL DEFAULT false,
    ADD COLUMN sig bigint[],
    ADD COLUMN bands bigint[] NOT NULL DEFAULT '{}',
    -- received at the same moment, the one registered first is the earlier
    ADD COLUMN registered_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- the detector has examined this registration (it then finds its own earlier cases)
    ADD COLUMN detected boolean NOT NULL DEFAULT false;
UPDATE registrations SET detected = true;
CREATE INDEX registrations_bands ON registrations USING gin (bands) WITH (fastupdate = off) WHERE bands <> '{}';
