-- The review site's area summary counts the approved households that live in a temporary house: their current
-- version's answers hold temp_house_flag = 'yes' anywhere (the example form's calculation; a per-form setting can
-- replace the name later). Searching every approved household's answers for it took 0.7 s for a district of 25,000
-- households (1.4 s for 100,000); this partial index holds only the versions that pass the test, so the summary
-- reads their ids from it instead (under 50 ms). The path must stay the same as TEMP_HOUSE_PATH in
-- service/review/reading_queries.py, or the summary stops using the index (and is slow, not wrong).
create index submission_versions_temp_house_idx on submission_versions (form_id, id)
    where answers @? '$.** ? (@.temp_house_flag == "yes")';
