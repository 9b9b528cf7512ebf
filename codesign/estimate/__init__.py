"""Resource and latency estimates without vendor tools, and vendor results when they exist."""
