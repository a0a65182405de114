"""segsim scenario layer."""
