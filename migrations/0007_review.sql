-- Supervisor review: one id space for every actor, the viewer role, review decisions with reasons (and batches that
-- can be undone), comments, and indexes for the review queue and the audit log.

-- 1. Actors. ODK Central gives users and app users ids from one space (its `submitterId` is always an actor id,
-- and pyODK requires it). Our two tables each had their own sequence, so app users are renumbered above every
-- user id, and from now on both take ids from one sequence.
create sequence actor_id_seq as bigint;
alter table form_app_users drop constraint form_app_users_app_user_id_fkey,
    add constraint form_app_users_app_user_id_fkey foreign key (app_user_id) references app_users (id)
        on delete cascade on update cascade;
alter table submissions drop constraint submissions_submitter_app_user_id_fkey,
    add constraint submissions_submitter_app_user_id_fkey foreign key (submitter_app_user_id)
        references app_users (id) on update cascade;
alter table submission_versions drop constraint submission_versions_submitter_app_user_id_fkey,
    add constraint submission_versions_submitter_app_user_id_fkey foreign key (submitter_app_user_id)
        references app_users (id) on update cascade;
alter table users alter column id drop identity;
alter table app_users alter column id drop identity;
update app_users set id = id + (select coalesce(max(id), 0) from users);
select setval('actor_id_seq',
              greatest((select coalesce(max(id), 0) from users), (select coalesce(max(id), 0) from app_users), 1));
alter table users alter column id set default nextval('actor_id_seq');
alter table app_users alter column id set default nextval('actor_id_seq');
alter sequence actor_id_seq owned by users.id;

-- 2. Viewers read a project's households (in their areas) but decide nothing.
alter table project_assignments drop constraint project_assignments_role_check,
    add constraint project_assignments_role_check
        check (role in ('manager', 'supervisor', 'viewer', 'enumerator'));

-- 3. Why a household was flagged or rejected: a list per project (project_id null: the defaults every project has).
create table review_reasons (
    id bigint generated always as identity primary key,
    project_id bigint references projects (id),
    code text not null check (code ~ '^[a-z][a-z0-9_]{0,63}$'),
    label text not null check (length(label) between 1 and 200),
    label_en text not null check (length(label_en) between 1 and 200),
    -- Which decisions may give this reason.
    applies_to text[] not null default '{hasIssues,rejected}'
        check (applies_to <@ array['hasIssues', 'rejected', 'approved']::text[]),
    active boolean not null default true
);
create unique index review_reasons_code_key on review_reasons (coalesce(project_id, 0), code);
insert into review_reasons (project_id, code, label, label_en, applies_to) values
    (null, 'photo_not_this_house', 'Ảnh không phải nhà của hộ này', 'The photo is not of this house', '{hasIssues,rejected}'),
    (null, 'photo_unclear', 'Ảnh mờ, thiếu hoặc không thấy rõ nhà', 'Photos are blurred, missing or do not show the house', '{hasIssues,rejected}'),
    (null, 'roof_mismatch', 'Vật liệu mái không khớp với câu trả lời', 'Roof material does not match the answers', '{hasIssues,rejected}'),
    (null, 'walls_mismatch', 'Vật liệu tường không khớp với câu trả lời', 'Wall material does not match the answers', '{hasIssues,rejected}'),
    (null, 'location_wrong', 'Vị trí GPS không đúng nhà của hộ', 'The GPS point is not at the household', '{hasIssues,rejected}'),
    (null, 'duplicate_household', 'Hộ bị khảo sát trùng', 'The household was surveyed twice', '{hasIssues,rejected}'),
    (null, 'income_implausible', 'Thu nhập khai báo không hợp lý', 'The declared income is not plausible', '{hasIssues,rejected}'),
    (null, 'members_mismatch', 'Thành viên hộ không khớp', 'Household members do not match', '{hasIssues,rejected}'),
    (null, 'not_eligible', 'Hộ không thuộc diện rà soát', 'The household is not in scope of the review', '{rejected}'),
    (null, 'other', 'Lý do khác (ghi rõ)', 'Another reason (write it down)', '{hasIssues,rejected}');

-- 4. Every review decision, kept: who moved a household from which state to which, why, and in which bulk batch
-- (so a batch can be undone exactly).
create table submission_reviews (
    id bigint generated always as identity primary key,
    submission_id bigint not null references submissions (id),
    version_id bigint not null references submission_versions (id),
    actor_user_id bigint references users (id),
    from_state text check (from_state in ('hasIssues', 'edited', 'approved', 'rejected')),
    to_state text check (to_state in ('hasIssues', 'edited', 'approved', 'rejected')),
    reason_code text,
    note text check (length(note) <= 4000),
    batch_id uuid,
    -- Set on the decisions a later undo reverted.
    undone_at timestamptz,
    created_at timestamptz not null default now()
);
create index submission_reviews_submission_idx on submission_reviews (submission_id, id);
create index submission_reviews_batch_idx on submission_reviews (batch_id) where batch_id is not null;
alter table submissions add column reviewed_at timestamptz;

-- 5. The conversation about a household (Central's comments: body, actor, time; no edits, no deletes).
create table submission_comments (
    id bigint generated always as identity primary key,
    submission_id bigint not null references submissions (id),
    actor_id bigint not null references users (id),
    body text not null check (length(body) between 1 and 10000),
    created_at timestamptz not null default now()
);
create index submission_comments_submission_idx on submission_comments (submission_id, id);

-- 6. Central shows a household's user agent (its first version's) and every version's submitter; keep the first
-- on the household, and find a household's versions by index.
alter table submissions add column user_agent text;
update submissions s set user_agent = (select v.user_agent from submission_versions v
                                       where v.submission_id = s.id order by v.id limit 1);
create index submission_versions_submission_idx on submission_versions (submission_id, id);

-- 7. The review queue filters by state within a form, oldest first; the audit log by project and time.
create index submissions_form_review_idx on submissions (form_id, review_state, created_at, id) where deleted_at is null;
create index submissions_form_submitter_idx on submissions (form_id, submitter_app_user_id) where deleted_at is null;
create index audits_project_logged_at_idx on audits (project_id, logged_at);
create index audits_logged_at_idx on audits (logged_at);
