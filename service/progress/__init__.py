"""Progress against the province's targets (issue 10): rates per province, district and commune, changes since the
previous year, temporary houses; and the data they are measured against (household totals, targets, poor districts)."""
