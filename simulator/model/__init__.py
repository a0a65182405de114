"""segsim model layer."""
