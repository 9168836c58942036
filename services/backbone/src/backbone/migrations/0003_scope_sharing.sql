-- 厂地联动: what each external party was given of a case (party -> fields), beside the parties
-- themselves (shared_with, indexed for the visibility predicate). Kept from case.shared.v1 and
-- case.sharing_revoked.v1 by backbone.visibility.
ALTER TABLE case_scope ADD COLUMN shared jsonb NOT NULL DEFAULT '{}';
