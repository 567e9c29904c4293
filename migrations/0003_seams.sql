-- Seams that review, photo evidence and exports build on: area codes on households (the reader's scope), keyset
-- paging, the change record, and updated_at always set.

-- Every area code a household belongs to (GSO codes of its district, commune, …), taken from its answers.
-- A reader's scope matches any of them, so a grant on a district reaches all of its communes.
alter table submissions add column area_codes text[] not null default '{}';
create index submissions_area_codes_idx on submissions using gin (area_codes);

-- updated_at moves with every change (new files, edits, review decisions), so a sync can tell what is newer.
update submissions set updated_at = created_at where updated_at is null;
alter table submissions alter column updated_at set default now();
alter table submissions alter column updated_at set not null;

-- Lists page newest first by (created_at, id): a keyset, never an offset.
create index submissions_form_keyset_idx on submissions (form_id, created_at desc, id desc) where deleted_at is null;
drop index submissions_form_id_created_at_idx;

-- The change record: one row per change to a household, written in the transaction that made it.
-- txid is that transaction's id. A reader of the feed takes only rows of transactions older than every transaction
-- still running (pg_snapshot_xmin), ordered by (txid, id), so a transaction that commits late can never be
-- skipped by a cursor that already moved past rows of later transactions.
create table submission_changes (
    id bigint generated always as identity primary key,
    txid xid8 not null default pg_current_xact_id(),
    form_id bigint not null references forms (id),
    submission_id bigint not null references submissions (id),
    kind text not null check (kind in ('created', 'edited', 'files', 'review', 'comment', 'evidence')),
    version_id bigint references submission_versions (id),
    actor_user_id bigint references users (id),
    changed_at timestamptz not null default now(),
    details jsonb
);
create index submission_changes_feed_idx on submission_changes (form_id, txid, id);
create index submission_changes_submission_idx on submission_changes (submission_id, id);
