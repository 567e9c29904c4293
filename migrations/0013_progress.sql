-- Progress against the province's targets (issue 10): the denominators (total households per district and commune
-- and year, which the review itself cannot know), the province's targets for the poor rate, and the poor districts
-- whose exit from the national list is followed. All three are data that managers or administrators edit, not code.

-- Total households of an area in a year (the statistics office's or the commune's count, imported from a CSV and
-- corrected one by one). Only districts and communes have rows: the province's total is the sum of its districts, and
-- a district without a row of its own is the sum of its communes (service/progress computes both).
create table area_household_totals (
    area_code text not null references areas (code),
    year integer not null check (year between 2000 and 2100),
    households integer not null check (households between 0 and 10000000),
    updated_by bigint references users (id),
    updated_at timestamptz not null default now(),
    primary key (area_code, year)
);

-- areas.households (0005) was meant for these totals and was never written; the table above replaces it.
comment on column areas.households is 'unused: totals live in area_household_totals (0013_progress.sql)';

-- A target for an area's rates at the end of a year's review, in percent of all its households. A district or commune
-- without a target of its own is measured against the province's. `source` says where the figure comes from.
-- Area codes are national GSO codes and need not be loaded in `areas` yet (the province row is seeded below, before
-- any area is loaded), so there is no foreign key here.
create table progress_targets (
    area_code text not null check (length(area_code) between 1 and 40),
    year integer not null check (year between 2000 and 2100),
    poor_rate_percent numeric(5, 2) check (poor_rate_percent between 0 and 100),
    near_poor_rate_percent numeric(5, 2) check (near_poor_rate_percent between 0 and 100),
    source text check (length(source) <= 500),
    updated_by bigint references users (id),
    updated_at timestamptz not null default now(),
    primary key (area_code, year),
    check (poor_rate_percent is not null or near_poor_rate_percent is not null)
);

-- The province's directive: a poor rate of 2.2 % at the end of 2024 and 1.84 % at the end of 2025, as the project was
-- given them; the directive's own number and text were not found in the sources (docs/review.md, "Progress").
insert into progress_targets (area_code, year, poor_rate_percent, source) values
    ('46', 2024, 2.20, 'Provincial directive (number not found in the sources): poor rate 2.2 % at end-2024'),
    ('46', 2025, 1.84, 'Provincial directive (number not found in the sources): poor rate 1.84 % at end-2025');

-- Districts on the national list of poor districts, and what is known of their way off it. The poor rate below which
-- a district may leave the list is **not** in the sources: it stays null until someone who has the rule sets it,
-- and `exit_rule_note` says what is known.
create table poor_districts (
    area_code text primary key check (length(area_code) between 1 and 40),
    listed_from integer not null check (listed_from between 2000 and 2100),
    listed_until integer check (listed_until >= listed_from),
    listed_by text check (length(listed_by) <= 500),
    exited_by text check (length(exited_by) <= 500),
    exit_poor_rate_percent numeric(5, 2) check (exit_poor_rate_percent between 0 and 100),
    exit_rule_note text check (length(exit_rule_note) <= 2000),
    updated_by bigint references users (id),
    updated_at timestamptz not null default now()
);

-- A Lưới: one of the 74 poor districts of Decision 353/QĐ-TTg (15/3/2022), recognised as out of poverty by Decision
-- 702/QĐ-TTg (22/7/2024) (docs/domain.md §4, docs/review.md "Progress").
insert into poor_districts (area_code, listed_from, listed_until, listed_by, exited_by, exit_rule_note) values
    ('481', 2022, 2024, 'Decision 353/QĐ-TTg (15/3/2022)', 'Decision 702/QĐ-TTg (22/7/2024)',
     'The exit criteria (the poor rate a district must fall below) were not in the sources; set the threshold '
     'here once it is confirmed from the official text.');

-- Progress counts households by their status before the review (the example form's prior_status). Reading that
-- answer from every household's answers took seconds at 100,000 households; these partial indexes hold the versions
-- with each status, so the count reads their ids instead. The predicates must stay exactly those of _PRIOR in
-- service/progress/queries.py, or counting stops using them (and is slow, not wrong).
create index submission_versions_prior_poor_idx on submission_versions (form_id, id)
    where (answers #>> '{g_hh,prior_status}') = 'poor';
create index submission_versions_prior_near_poor_idx on submission_versions (form_id, id)
    where (answers #>> '{g_hh,prior_status}') = 'near_poor';
create index submission_versions_prior_escaped_idx on submission_versions (form_id, id)
    where (answers #>> '{g_hh,prior_status}') = 'escaped';
create index submission_versions_prior_none_idx on submission_versions (form_id, id)
    where (answers #>> '{g_hh,prior_status}') = 'none';
