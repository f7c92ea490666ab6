"""The benchmark workloads W1-W5 of shared/WORKLOADS.md: their data, samples and configurations."""
