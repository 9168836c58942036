-- 维稳信息共享: which early warnings were given to which external party (alert.shared.v1).
CREATE TABLE alert_shares (
    alert_id   uuid NOT NULL,
    party      text NOT NULL,
    since      timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (alert_id, party)
);
CREATE INDEX alert_shares_party ON alert_shares (party) WHERE revoked_at IS NULL;
