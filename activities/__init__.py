"""Side effects of the procedure: record into the domain, notify partners, render reports."""
