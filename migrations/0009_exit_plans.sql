-- Exit plans as data (the province's 2023 directive asks for concrete plans, not plans written for form's sake):
-- per poor or near-poor household, who answers for it (a named official, a sponsoring agency), actions tied to a
-- support type and a project of the National Target Programme (Decision 90/QĐ-TTg), each with an amount, a funding
-- source, who carries it out and when; and the follow-up visits.

create table exit_plans (
    id bigint generated always as identity primary key,
    submission_id bigint not null unique references submissions (id),
    owner_name text check (length(owner_name) between 1 and 200),
    owner_user_id bigint references users (id),
    agency text check (length(agency) between 1 and 200),
    target_exit_year integer check (target_exit_year between 2021 and 2035),
    pathway text check (pathway in ('livestock', 'crops_forest', 'wage_work', 'trade_service', 'labour_export',
                                    'social_protection', 'other')),
    summary text check (length(summary) <= 4000),
    created_by bigint references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table exit_plan_actions (
    id bigint generated always as identity primary key,
    plan_id bigint not null references exit_plans (id) on delete cascade,
    support_type text not null check (support_type in ('credit', 'livelihood', 'training', 'job_placement',
        'labour_export', 'housing', 'water_sanitation', 'health_insurance', 'education', 'information',
        'social_assistance', 'other')),
    -- The programme's seven projects (Decision 90/QĐ-TTg, 18/1/2022).
    programme_project text check (programme_project in ('p1_infrastructure', 'p2_livelihoods',
        'p3_production_nutrition', 'p4_vocational_jobs', 'p5_housing', 'p6_communication', 'p7_capacity_monitoring')),
    description text not null check (length(description) between 1 and 2000),
    amount_vnd bigint check (amount_vnd between 0 and 10000000000),
    funding_source text check (funding_source in ('central_budget', 'local_budget', 'policy_credit', 'sponsor',
        'household', 'other')),
    responsible text check (length(responsible) between 1 and 200),
    due_date date,
    done_on date,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index exit_plan_actions_plan_idx on exit_plan_actions (plan_id, id);
create index exit_plan_actions_open_idx on exit_plan_actions (due_date) where done_on is null;

create table exit_plan_visits (
    id bigint generated always as identity primary key,
    plan_id bigint not null references exit_plans (id) on delete cascade,
    visit_date date not null,
    visited_by bigint references users (id),
    progress text not null check (progress in ('on_track', 'behind', 'at_risk')),
    note text check (length(note) <= 4000),
    created_at timestamptz not null default now()
);
create index exit_plan_visits_plan_idx on exit_plan_visits (plan_id, visit_date);
