"""Console -> Security: an operator turns TOTP two-factor sign-in on and off, through the
same routes and service functions as the customers' Settings -> Security."""

from miningtx.dashboard.security import OPERATOR, security_router

router = security_router(OPERATOR)
