"""bankgate's file parsers: a pure library (no cloud SDK, no Airflow) that reads bank and
insurance files from a binary stream and yields validated records."""

if __name__ != "bankgate.parsers":  # the folder is importable from a checkout's root under its bare name too
    raise ImportError("import bankgate.parsers, not parsers: the folder parsers/ is the package bankgate.parsers")
