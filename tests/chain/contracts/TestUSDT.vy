# pragma version ~=0.4.3
# TEST TOKEN FOR LOCAL ANVIL NODES ONLY. Never deploy it to a real network: anyone
# holding the deployer key (a public test key in our suite) can mint without limit.
"""
@title TestUSDT
@notice A small USDT-like ERC-20 the chain tests deploy on local anvil nodes: symbol
        "USDT", decimals fixed at deployment (18 like BSC's USDT, 6 like Polygon's),
        and `mint`, callable only by the deployer, so tests can fund any address.
        Like Tether's USDT, the deployer can block an address (`setBlocked`): transfers
        from or to it revert, which lets tests make a sent payout fail on-chain.
"""

from ethereum.ercs import IERC20

implements: IERC20


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


name: public(constant(String[32])) = "Tether USD (test)"
symbol: public(constant(String[8])) = "USDT"
decimals: public(immutable(uint8))
minter: public(immutable(address))

totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
blocked: public(HashMap[address, bool])


@deploy
def __init__(token_decimals: uint8):
    decimals = token_decimals
    minter = msg.sender


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "transfer to the zero address"
    assert not self.blocked[sender] and not self.blocked[receiver], "blocked address"
    assert self.balanceOf[sender] >= amount, "insufficient balance"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[sender][msg.sender]
    assert allowed >= amount, "insufficient allowance"
    if allowed != max_value(uint256):
        self.allowance[sender][msg.sender] = allowed - amount
    self._transfer(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(receiver: address, amount: uint256):
    assert msg.sender == minter, "only the deployer mints"
    assert receiver != empty(address), "mint to the zero address"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def setBlocked(account: address, is_blocked: bool):
    assert msg.sender == minter, "only the deployer blocks"
    self.blocked[account] = is_blocked
