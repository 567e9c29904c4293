-- Administrative areas as data (province → district → commune → village, GSO codes), the form fields that hold a
-- household's area, and each household's area codes in columns of their own.

-- GSO codes are national, so areas are shared by every project. Villages (thôn, tổ dân phố) have no national code;
-- they are keyed by the code their form gives them (the example form: "<commune code>-<nn>").
create table areas (
    code text primary key check (length(code) between 1 and 40),
    level text not null check (level in ('province', 'district', 'commune', 'village')),
    parent_code text references areas (code),
    name text not null check (length(name) between 1 and 200),
    name_en text,
    -- Total households (for rates), per round when known: {"2023": 12345}. Managers edit it (the province's review).
    households jsonb not null default '{}',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check ((level = 'province') = (parent_code is null))
);
create index areas_parent_code_idx on areas (parent_code);

-- Which answers hold a household's district, commune and village: field paths of the form's schema, e.g.
-- {"district": "/data/district", "commune": "/data/commune", "village": "/data/village"}. Null: found by name.
alter table forms add column area_fields jsonb;

-- A household's declared area, from its answers (current version). area_codes (0003) keeps every code of its area
-- and the areas above it, which is what a reader's scope matches; these columns are for grouping and filtering.
alter table submissions
    add column district_code text,
    add column commune_code text,
    add column village_code text;
create index submissions_form_commune_idx on submissions (form_id, commune_code) where deleted_at is null;
create index submissions_form_district_idx on submissions (form_id, district_code) where deleted_at is null;
