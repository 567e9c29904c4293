-- The official result of the poverty review as the server computes it (service/classification), kept on each
-- household next to what the phone computed, so reviewers can find the households where the two disagree.
-- Written by ingest in the same transaction as the version it was computed from; null for households of forms the
-- rules do not apply to, for encrypted ones, and for households stored before this migration.
alter table submissions
    add column classification text
        check (classification in ('poor', 'near_poor', 'average', 'other', 'unclassified', 'screened_out')),
    -- The whole result (income, lines, deprivations, missing answers, housing rules, checks), as served.
    add column classification_detail jsonb,
    -- The form's own `classification` calculate as the phone sent it (any text; capped so a form cannot bloat it).
    add column provisional_classification text check (length(provisional_classification) <= 100),
    -- The phone's provisional result differs from the server's; null when either is missing.
    add column classification_mismatch boolean;

-- The review queue filters a form's households by classification and by mismatch, oldest first.
create index submissions_form_classification_idx on submissions (form_id, classification, created_at, id)
    where deleted_at is null;
create index submissions_form_mismatch_idx on submissions (form_id, created_at, id)
    where deleted_at is null and classification_mismatch;
