"""Console scripts: one module each."""
