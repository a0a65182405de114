"""segsim platform layer."""
