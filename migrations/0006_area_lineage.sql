-- One rule, used by ingest and by backfills alike: the area codes a household belongs to, from the district,
-- commune and village its answers declare. Every declared code counts, plus every area above the most specific
-- declared code the `areas` table knows (so a commune's household also carries its district and province, even
-- when the form asks only for the commune). Unknown codes still count: scope never depends on areas being loaded.
create function household_area_codes(district text, commune text, village text) returns text[]
language sql stable parallel safe as $$
    with recursive known as (
        select a.code, a.parent_code
        from areas a
        where a.code = coalesce(
            (select code from areas where code = village),
            (select code from areas where code = commune),
            (select code from areas where code = district))
        union all
        select p.code, p.parent_code from areas p join known k on p.code = k.parent_code
    )
    select coalesce(array_agg(distinct code order by code), '{}')
    from (select code from known
          union select unnest(array[district, commune, village])) codes
    where code is not null
$$;

-- More kinds of change the feed carries: a household's area recomputed (areas loaded, a form's area fields set),
-- a household deleted or restored, and a step of the legal review stages.
alter table submission_changes drop constraint submission_changes_kind_check;
alter table submission_changes add constraint submission_changes_kind_check
    check (kind in ('created', 'edited', 'files', 'review', 'comment', 'evidence', 'areas', 'deleted', 'restored',
                    'stage'));
