-- Failed sign-ins, counted per key within a window, so that password guessing is refused (429) before any hash is
-- computed. Keys: 'address:<ip>', 'account:<email>', 'account-address:<email>|<ip>'. Rows whose window has passed
-- count as nothing and are removed on the next success or by housekeeping.
create table sign_in_failures (
    key text primary key check (length(key) <= 400),
    failures integer not null check (failures > 0),
    window_started_at timestamptz not null,
    last_failed_at timestamptz not null
);
create index sign_in_failures_window_idx on sign_in_failures (window_started_at);
