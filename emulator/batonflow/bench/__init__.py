"""`baton bench`: measure what Baton costs (cold imports, latency, throughput) on this machine."""
