-- The legal stages of the province's review (Decision 24/2021/QĐ-TTg), beside the evidence review states:
-- surveyed (the household's answers arrived: the provisional result) → village meeting (≥ 50 % agreement; under
-- 50 % sends it back for re-review) → public posting (dates, complaints) → recognised by the commune (decision number
-- and date, final classification). service/stages/service.py has the decision table.

alter table submissions
    add column stage text not null default 'surveyed'
        check (stage in ('surveyed', 'meeting', 're_review', 'posted', 'recognised')),
    add column stage_changed_at timestamptz,
    add column final_classification text
        check (final_classification in ('poor', 'near_poor', 'average', 'other'));

-- Every step, kept: who recorded it, from which stage, with the facts of the step. An edit that arrives for a
-- household sent back for re-review is a step too (actor: the app user or user who sent it).
create table submission_stages (
    id bigint generated always as identity primary key,
    submission_id bigint not null references submissions (id),
    version_id bigint not null references submission_versions (id),
    actor_user_id bigint references users (id),
    actor_app_user_id bigint references app_users (id) on update cascade,
    from_stage text not null check (from_stage in ('surveyed', 'meeting', 're_review', 'posted', 'recognised')),
    to_stage text not null check (to_stage in ('surveyed', 'meeting', 're_review', 'posted', 'recognised')),
    batch_id uuid,
    -- village meeting
    meeting_date date,
    agreement_percent numeric(5, 2) check (agreement_percent between 0 and 100),
    attendees integer check (attendees between 1 and 100000),
    -- public posting
    posted_from date,
    posted_until date check (posted_until >= posted_from),
    complaints integer check (complaints between 0 and 100000),
    -- recognition by the commune People's Committee
    decision_number text check (length(decision_number) between 1 and 100),
    decision_date date,
    final_classification text check (final_classification in ('poor', 'near_poor', 'average', 'other')),
    note text check (length(note) <= 4000),
    created_at timestamptz not null default now()
);
create index submission_stages_submission_idx on submission_stages (submission_id, id);

-- The queue and the progress figures filter by stage within a form.
create index submissions_form_stage_idx on submissions (form_id, stage) where deleted_at is null;
