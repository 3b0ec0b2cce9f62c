"""bankgate's file parsers: a pure library (no cloud SDK, no Airflow) that reads bank and
insurance files from a binary stream and yields validated records."""
