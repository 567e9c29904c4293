-- Photo evidence: background jobs on this database, what each photo holds (EXIF, a perceptual hash, thumbnails),
-- the evidence checks of each household version, and a risk score per household for the review queue.

-- Background jobs. A job is enqueued in the transaction that made it necessary (a household recorded, a file
-- arrived), so a crash can never lose one. At most one job per (kind, key) is pending (queued or running); asking
-- again while one runs sets `rerun`, so it runs once more after it finishes and then sees the new data.
-- A worker claims ready jobs with FOR UPDATE SKIP LOCKED, counts the attempt at once and leases the job by moving
-- `run_after` to the end of the lease; a worker that dies (even SIGKILL) stops renewing it, and when the lease
-- ends the job is ready again (its attempt counted, so a job that kills its worker every time is capped too).
create table jobs (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('photo', 'evidence', 'housekeeping')),
    -- What the job is about: a blob id (photo), 'form id:submission id' (evidence), 'sweep' (housekeeping).
    key text not null check (length(key) between 1 and 200),
    -- Lower runs first: photos before the evidence checks that read them.
    priority smallint not null default 0,
    state text not null default 'queued' check (state in ('queued', 'running', 'done', 'failed')),
    attempts integer not null default 0 check (attempts >= 0),
    -- When it may run (queued), or when its lease ends (running).
    run_after timestamptz not null default now(),
    rerun boolean not null default false,
    -- The claim that holds the lease: a finishing worker whose lease was taken over changes nothing.
    claim uuid,
    claimed_by text,
    last_error text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    finished_at timestamptz
);
create unique index jobs_pending_key on jobs (kind, key) where state in ('queued', 'running');
create index jobs_ready_idx on jobs (priority, run_after, id) where state in ('queued', 'running');
create index jobs_finished_idx on jobs (finished_at) where state in ('done', 'failed');
create index jobs_errors_idx on jobs (updated_at) where last_error is not null;

-- One analysis per distinct photo content (the same bytes are analysed once, whoever sent them).
-- Thumbnails are blobs too (content-addressed in the media store); the original itself serves as the large view
-- when it is already about that size and upright (large_is_original). On delete cascade: the analysis belongs to its
-- photo, so the housekeeping sweep treats only non-cascading foreign keys to blobs as references.
create table photo_analyses (
    blob_id bigint primary key references blobs (id) on delete cascade,
    status text not null check (status in ('ok', 'unreadable')),
    -- Why a photo is unreadable (truncated, too many pixels, not an image), for the supervisor.
    reason text,
    format text,
    width integer,
    height integer,
    orientation smallint,
    has_exif boolean not null default false,
    make text,
    model text,
    software text,
    -- DateTimeOriginal as written, its offset (OffsetTimeOriginal) when the camera wrote one, and the instant:
    -- with the offset, else read in the project's time zone (taken_zone_assumed).
    taken_local text,
    taken_offset text,
    taken_at timestamptz,
    taken_zone_assumed boolean not null default false,
    gps_latitude double precision,
    gps_longitude double precision,
    gps_altitude double precision,
    -- GPSHPositioningError (metres) when the phone wrote it.
    gps_accuracy double precision,
    gps_time timestamptz,
    -- 64-bit dHash of the upright image; null when unreadable or too uniform to compare (a black frame).
    phash bigint,
    thumb_small_blob_id bigint references blobs (id),
    thumb_large_blob_id bigint references blobs (id),
    large_is_original boolean not null default false,
    analysed_at timestamptz not null default now()
);
-- Multi-index hashing: the 64-bit hash in four 16-bit bands, one btree each. Two hashes within Hamming distance d
-- agree exactly on some band when d < 4, and within distance floor(d / 4) on some band for any d; lookups probe
-- each band with those values and check the whole hash with bit_count.
create index photo_analyses_band0_idx on photo_analyses (((phash >> 48) & 65535)) where phash is not null;
create index photo_analyses_band1_idx on photo_analyses (((phash >> 32) & 65535)) where phash is not null;
create index photo_analyses_band2_idx on photo_analyses (((phash >> 16) & 65535)) where phash is not null;
create index photo_analyses_band3_idx on photo_analyses ((phash & 65535)) where phash is not null;
create index photo_analyses_thumb_small_idx on photo_analyses (thumb_small_blob_id);
create index photo_analyses_thumb_large_idx on photo_analyses (thumb_large_blob_id);

-- The checks of one household version: a code, a severity, a reason in Vietnamese and English, the numbers behind
-- it (facts), and for a reused photo the other household. Rewritten whole each time the checks run.
create table evidence_checks (
    id bigint generated always as identity primary key,
    submission_id bigint not null references submissions (id),
    version_id bigint not null references submission_versions (id),
    code text not null check (length(code) between 1 and 80),
    severity text not null check (severity in ('info', 'warn', 'risk')),
    attachment_name text,
    reason_vi text not null,
    reason_en text not null,
    facts jsonb not null default '{}',
    other_submission_id bigint references submissions (id),
    created_at timestamptz not null default now()
);
create index evidence_checks_submission_idx on evidence_checks (submission_id, version_id);
create index evidence_checks_other_idx on evidence_checks (other_submission_id) where other_submission_id is not null;

-- The household's risk (0-100, from its checks and the weights in settings; null until first checked) and its
-- checks counted by severity, for lists and the review queue (riskiest first).
alter table submissions
    add column risk_score integer check (risk_score between 0 and 100),
    add column evidence_info integer not null default 0,
    add column evidence_warn integer not null default 0,
    add column evidence_risk integer not null default 0,
    add column evidence_version_id bigint,
    add column evidence_checked_at timestamptz;
create index submissions_form_risk_idx on submissions (form_id, risk_score desc nulls last, id desc)
    where deleted_at is null;

-- Blob rows the housekeeping sweep removed, kept for a grace period: an upload that found the row just before
-- (and so did not store the file again) writes the row back, and the file must still be there for it.
create table blob_tombstones (
    sha256 bytea primary key check (octet_length(sha256) = 32),
    storage_key text not null,
    deleted_at timestamptz not null default now()
);

-- What was there before this migration: analyse every photo households reference, check every household, and
-- start the periodic sweep.
insert into jobs (kind, key, priority)
select 'photo', b.id::text, 0
from blobs b
where b.content_type like 'image/%'
  and exists (select 1 from submission_attachments a where a.blob_id = b.id);
insert into jobs (kind, key, priority)
select 'evidence', s.form_id || ':' || s.id, 1 from submissions s where s.deleted_at is null;
insert into jobs (kind, key, priority) values ('housekeeping', 'sweep', 2);
