"""Mining: catalog, fleet capacity, activations and daily rewards."""
