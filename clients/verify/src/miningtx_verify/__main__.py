"""`python -m miningtx_verify proof.json`."""

from miningtx_verify.cli import main

raise SystemExit(main())
