"""Client push uploads: who may put which file into staging, and the grants that let them.

- ``clients``: per-client rules (types, size, quota, expiry, staging prefix), from the same
  TOML file as the banks (``[clients.<id>]``);
- ``records``: the ledger records of one upload and its link (the schema, in one place);
- ``grants``: the service a presign API is thin over (S3 presigned PUT/POST, multipart part
  signing, scoped STS credentials);
- ``api``: API Gateway HTTP API (payload 2.0) events in, JSON responses out;
- ``bucket``: the staging bucket's lifecycle and CORS rules an upload needs.
"""
