"""What stays on the machine: the database, archives, paths and settings."""
