"""Who did what: operator references for the services, and the append-only audit log."""
