"""segsim checks layer."""
