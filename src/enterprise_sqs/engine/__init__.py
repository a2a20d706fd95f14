"""The embedded SQS engine: SQLite storage with Amazon SQS semantics."""
