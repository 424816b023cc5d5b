"""MiningTX API client."""
