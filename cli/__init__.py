"""The `detector` command line: serve, users, detect, train."""
