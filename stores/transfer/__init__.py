"""Moving data between backends: digests, verified copy, snapshots."""
