"""Events, webhook endpoints, signing and delivery."""
