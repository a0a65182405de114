"""Property-based search for ghost abandons: the workspace catalog, Hypothesis
strategies for stories, faults, the fuzz driver, witness files and `segsim fuzz`."""
