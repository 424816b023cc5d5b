"""Manual adjustments of a customer's balance, proposed by one operator, approved by another."""
