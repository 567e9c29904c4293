"""Projects: the container of forms, app users and role assignments (ODK Central's /v1/projects)."""
