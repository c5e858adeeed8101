"""Pure Block Kit builders: data in, a view or blocks out. No I/O here."""
