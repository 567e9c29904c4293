"""Auth: accounts, sessions, password hashing, tokens, and who may do what in a project (access)."""
