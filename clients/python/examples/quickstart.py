from miningtx_client import Client

client = Client("mtx_test_...", base_url="http://127.0.0.1:8000")

balance = client.balance.retrieve()
print("available:", balance.available, balance.currency)  # a Decimal, exact to the unit

for contract in client.contracts.list():
    print(contract.id, contract.name, contract.price, "->", contract.daily_reward, "a day")

# Every reward ever credited, fetching page after page as the loop goes on.
for tx in client.transactions.list(type="reward").auto_paging_iter():
    print(tx.date, tx.amount)
