-- Foundation: accounts, projects, content-addressed blobs, forms and their versions.
-- Conventions: bigint identity ids; timestamptz everywhere; soft delete through deleted_at where users can
-- delete; constraints in the database rather than checks in code.

create table users (
    id bigint generated always as identity primary key,
    email text not null check (email = lower(email) and position('@' in email) > 1),
    display_name text not null default '',
    password_hash text,
    is_admin boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    last_login_at timestamptz,
    deleted_at timestamptz
);
create unique index users_email_key on users (email) where deleted_at is null;

-- Bearer sessions. Only a SHA-256 of the token is kept: a database leak must not hand out live sessions.
create table sessions (
    id bigint generated always as identity primary key,
    token_hash bytea not null unique check (octet_length(token_hash) = 32),
    csrf_hash bytea not null check (octet_length(csrf_hash) = 32),
    user_id bigint not null references users (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index sessions_user_id_idx on sessions (user_id);
create index sessions_expires_at_idx on sessions (expires_at);

create table projects (
    id bigint generated always as identity primary key,
    name text not null check (length(name) between 1 and 200),
    description text not null default '',
    archived boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz
);

-- A user's role in a project. area_codes limits a supervisor or enumerator to districts/communes (GSO codes);
-- null means the whole project.
create table project_assignments (
    project_id bigint not null references projects (id) on delete cascade,
    user_id bigint not null references users (id) on delete cascade,
    role text not null check (role in ('manager', 'supervisor', 'enumerator')),
    area_codes text[],
    created_at timestamptz not null default now(),
    primary key (project_id, user_id, role)
);
create index project_assignments_user_id_idx on project_assignments (user_id);

-- One row per distinct content. The store key derives from sha256, so writing the same bytes twice is harmless.
create table blobs (
    id bigint generated always as identity primary key,
    sha256 bytea not null unique check (octet_length(sha256) = 32),
    -- md5 is what OpenRosa manifests advertise; it is filled for form media and on demand elsewhere, because
    -- hashing every photo twice on the intake path costs more CPU than everything else in it.
    md5 bytea check (octet_length(md5) = 16),
    size bigint not null check (size >= 0),
    content_type text not null,
    storage_key text not null,
    created_at timestamptz not null default now()
);

create table forms (
    id bigint generated always as identity primary key,
    project_id bigint not null references projects (id),
    xml_form_id text not null check (length(xml_form_id) between 1 and 200),
    state text not null default 'open' check (state in ('open', 'closing', 'closed')),
    current_version_id bigint,
    draft_version_id bigint,
    created_by bigint references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz
);
create unique index forms_project_xml_form_id_key on forms (project_id, xml_form_id) where deleted_at is null;

-- Every uploaded definition. A draft has published_at null; publishing stamps it and points forms at it.
-- Older published versions stay, so phones still holding them can submit.
create table form_versions (
    id bigint generated always as identity primary key,
    form_id bigint not null references forms (id),
    version text not null,
    title text not null,
    -- The exact XForm served to Collect; xml_md5 is the hash the form list advertises for these bytes.
    xml text not null,
    xml_md5 text not null check (xml_md5 ~ '^[0-9a-f]{32}$'),
    source_blob_id bigint references blobs (id),
    source_type text not null check (source_type in ('xlsx', 'xls', 'xml')),
    schema jsonb not null,
    base64_public_key text,
    warnings jsonb not null default '[]',
    created_by bigint references users (id),
    created_at timestamptz not null default now(),
    published_at timestamptz
);
create index form_versions_form_id_idx on form_versions (form_id);
create unique index form_versions_published_version_key on form_versions (form_id, version)
    where published_at is not null;

alter table forms
    add constraint forms_current_version_fk foreign key (current_version_id) references form_versions (id),
    add constraint forms_draft_version_fk foreign key (draft_version_id) references form_versions (id);

-- Media a form version references (jr://images/…, jr://file-csv/…, itemsets.csv); blob_id is null until uploaded.
create table form_attachments (
    form_version_id bigint not null references form_versions (id) on delete cascade,
    name text not null,
    kind text not null check (kind in ('image', 'audio', 'video', 'file')),
    blob_id bigint references blobs (id),
    updated_at timestamptz,
    primary key (form_version_id, name)
);
create index form_attachments_blob_id_idx on form_attachments (blob_id);

-- Append-only record of actions that matter (logins, form changes, reviews later).
create table audits (
    id bigint generated always as identity primary key,
    actor_user_id bigint references users (id),
    action text not null,
    project_id bigint references projects (id),
    form_id bigint references forms (id),
    details jsonb,
    logged_at timestamptz not null default now()
);
create index audits_action_logged_at_idx on audits (action, logged_at);
