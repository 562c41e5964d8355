"""``python -m cognito_authz.cli``: the same command line as the ``cognito-authz`` console script."""

import sys

from cognito_authz.cli import main

sys.exit(main())
