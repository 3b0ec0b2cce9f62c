"""Expand the SAM template into plain CloudFormation JSON, as `sam deploy` would send it.

Run with the deploy tools' interpreter (`.venv-tools/bin/python deploy/aws/transform.py
TEMPLATE CODE_URI [PARAM=VALUE ...]`): aws-sam-translator and cfn-lint pin versions that
cannot share bankgate's environment (see ``deploy/tools-constraints.txt``). ``CODE_URI`` is the
``s3://bucket/key`` of the uploaded code zip, which stands in for the local ``CodeUri`` the way
`sam package` replaces it. The JSON goes to stdout; the resources' ``Metadata`` (checkov's
justified skips) is kept.
"""

from __future__ import annotations

import json
import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform


class _NoManagedPolicies:
    """The template names no AWS managed policies by name, so there is nothing to look up."""

    def load(self) -> dict[str, str]:
        return {}


def main(argv: list[str]) -> int:
    path, code_uri, *pairs = argv
    template, problems = decode(path)
    if problems or template is None:
        print("\n".join(str(p) for p in problems), file=sys.stderr)
        return 1
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = code_uri
    parameters = dict(pair.split("=", 1) for pair in pairs)
    expanded = transform(template, parameters, _NoManagedPolicies(), passthrough_metadata=True)
    json.dump(expanded, sys.stdout, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
