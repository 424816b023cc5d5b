"""Typed Python client for the MiningTX API.

from miningtx_client import Client

client = Client("mtx_test_...", base_url="http://127.0.0.1:8000")
print(client.balance.retrieve().available)          # Decimal('2480.75')
for tx in client.transactions.list(type="reward").auto_paging_iter():
    print(tx.date, tx.amount)
"""

from miningtx_client import models, webhooks
from miningtx_client._async import AsyncClient
from miningtx_client._core import RetryPolicy
from miningtx_client._sync import Client
from miningtx_client._version import __version__
from miningtx_client.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientBalanceError,
    MiningTXError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from miningtx_client.pagination import AsyncPage, Page
from miningtx_client.webhooks import WebhookVerificationError

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncClient",
    "AsyncPage",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "InsufficientBalanceError",
    "MiningTXError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "WebhookVerificationError",
    "__version__",
    "models",
    "webhooks",
]
