"""Developer tools that are Python packages (the benchmark lives in tools.bench)."""
