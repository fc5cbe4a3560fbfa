"""The app shell: CLI, `finmon up`, live view, metrics, embedded servers, benchmarks."""
