"""The DataLoader's machinery (private): fetch, executors, allocation, the process pool."""
