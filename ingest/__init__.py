"""I/O of streetsafe: reading report files, validating, sealing, and the store engines."""
