"""What a review can be started from: the demo review's files, and realistic synthetic
records for reviews of any size (for benchmarks and for trying the product at scale)."""
