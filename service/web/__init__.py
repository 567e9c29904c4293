"""The review site: server-rendered pages for commune and district staff (sign-in, queue, household, bulk actions,
area summary), in Vietnamese and English, with no resource from outside the server."""
