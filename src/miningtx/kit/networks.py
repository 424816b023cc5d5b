"""The networks USDT moves on: the one list every module (settings, ledger, API) uses."""

from __future__ import annotations

from typing import Literal, get_args

#: A network's name as the API, the settings (MTX_CHAIN_<NETWORK>_*) and the ledger spell it.
#: A Literal rather than a StrEnum so the API schema stays an inline `enum` of strings.
Network = Literal["bsc", "polygon"]
NETWORKS: tuple[Network, ...] = get_args(Network)


def parse_network(name: str) -> Network:
    """`name` as a Network; ValueError for anything that is not one of NETWORKS."""
    for network in NETWORKS:
        if network == name:
            return network
    raise ValueError(f"unknown network {name!r}: one of {', '.join(NETWORKS)}")
