-- ODK Collect: app users (device tokens), their form assignments, and submissions with their versions and files.

-- An app user is a device identity inside one project (Central's "field key"). Only the token's SHA-256 is kept;
-- revoking clears it, so a revoked token can never match again.
create table app_users (
    id bigint generated always as identity primary key,
    project_id bigint not null references projects (id),
    display_name text not null check (length(display_name) between 1 and 200),
    token_hash bytea unique check (octet_length(token_hash) = 32),
    created_by bigint references users (id),
    created_at timestamptz not null default now(),
    token_issued_at timestamptz,
    revoked_at timestamptz,
    check ((revoked_at is null) = (token_hash is not null))
);
create index app_users_project_id_idx on app_users (project_id);

-- Which forms an app user may list, download and submit to.
create table form_app_users (
    form_id bigint not null references forms (id) on delete cascade,
    app_user_id bigint not null references app_users (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (form_id, app_user_id)
);
create index form_app_users_app_user_id_idx on form_app_users (app_user_id);

-- A household as the server knows it. instance_id is the root instanceID (the first version's); edits add
-- versions with new instanceIDs that point back through deprecated_id.
create table submissions (
    id bigint generated always as identity primary key,
    form_id bigint not null references forms (id),
    instance_id text not null,
    current_version_id bigint,
    form_version_id bigint not null references form_versions (id),
    -- Central's review states; null means "received".
    review_state text check (review_state in ('hasIssues', 'edited', 'approved', 'rejected')),
    encrypted boolean not null default false,
    instance_name text,
    submitter_user_id bigint references users (id),
    submitter_app_user_id bigint references app_users (id),
    device_id text,
    -- The main geopoint of the household (the first geopoint question outside repeats).
    latitude double precision,
    longitude double precision,
    altitude double precision,
    accuracy double precision,
    attachments_expected integer not null default 0,
    attachments_present integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz,
    unique (form_id, instance_id)
);
create index submissions_form_id_created_at_idx on submissions (form_id, created_at);

-- Every version of every submission. The unique (form_id, instance_id) is the idempotency gate: a retry, a
-- split upload or a concurrent duplicate all land on the same row, decided by one INSERT … ON CONFLICT.
create table submission_versions (
    id bigint generated always as identity primary key,
    submission_id bigint not null,
    form_id bigint not null references forms (id),
    instance_id text not null check (length(instance_id) between 1 and 255),
    deprecated_id text,
    form_version_id bigint not null references form_versions (id),
    xml text not null,
    xml_sha256 bytea not null check (octet_length(xml_sha256) = 32),
    -- Answers nested like the form (groups as objects, repeats as arrays), typed by the form's binds;
    -- null for encrypted submissions, whose content the server cannot read.
    answers jsonb,
    instance_name text,
    submitter_user_id bigint references users (id),
    submitter_app_user_id bigint references app_users (id),
    device_id text,
    user_agent text,
    is_current boolean not null default true,
    received_at timestamptz not null default now(),
    unique (form_id, instance_id),
    -- Deferred: a new submission's first version is inserted (and wins the race) before its submission row.
    constraint submission_versions_submission_fk foreign key (submission_id) references submissions (id)
        deferrable initially deferred
);
create unique index submission_versions_current_key on submission_versions (submission_id) where is_current;

alter table submissions
    add constraint submissions_current_version_fk foreign key (current_version_id)
        references submission_versions (id) deferrable initially deferred;

-- Files a submission version references. blob_id is null until the file arrives (Collect splits big
-- households over several POSTs); the submission is complete when none is null.
create table submission_attachments (
    submission_version_id bigint not null references submission_versions (id) on delete cascade,
    name text not null check (length(name) between 1 and 255 and position('/' in name) = 0),
    field_path text,
    blob_id bigint references blobs (id),
    received_at timestamptz,
    primary key (submission_version_id, name)
);
create index submission_attachments_blob_id_idx on submission_attachments (blob_id);
