"""Review: supervisors' decisions on households (Central's review states, with reasons), comments, version diffs,
the review queue with its bulk actions and their undo."""
