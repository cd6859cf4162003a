"""The `lotse` command line: dev stack, operator, auditor and privacy commands."""
