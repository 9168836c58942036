-- The version of the routing event behind each party's share (case.shared / case.sharing_revoked):
-- routing's events on one case can reach a consumer out of their order (an API's and a consumer's
-- publishers are two), so a share or revocation is taken only when newer than the one recorded, and
-- a revocation always holds over an older share. Shares recorded before this have version 0.
ALTER TABLE case_scope ADD COLUMN shared_versions jsonb NOT NULL DEFAULT '{}';
