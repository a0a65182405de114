"""segsim report layer."""
