"""MongoDB access: the one place that talks to the database."""
