-- Only petitions with an identity are indexed (an anonymous one matches nobody), and without GIN's
-- pending list, whose clean-up falls on one unlucky registration (measured: ack latency spikes).
DROP INDEX registrations_keys;
CREATE INDEX registrations_keys ON registrations USING gin (keys) WITH (fastupdate = off) WHERE keys <> '{}';
