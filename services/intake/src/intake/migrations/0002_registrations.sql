-- What intake's detection rules match on, one row per registration (written with it): the issue
-- type and the petitioners' keyed identity hashes (never identities in clear), and whether the
-- matter is final after 复核 (Art 36 ¶3, from supervision's events).
CREATE TABLE registrations (
    case_id      uuid PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    issue_type   text NOT NULL,
    keys         text[] NOT NULL DEFAULT '{}',
    final        boolean NOT NULL DEFAULT false,
    flagged      text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX registrations_keys ON registrations USING gin (keys);
INSERT INTO registrations (case_id, received_at, issue_type)
SELECT stream_id::uuid, (body->'data'->>'received_at')::timestamptz, body->'data'->>'issue_type'
  FROM events WHERE version = 1 AND event_type = 'petition.registered.v1'
ON CONFLICT DO NOTHING;
