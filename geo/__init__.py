"""Pure logic of streetsafe: hexes, night time, privacy, aggregation. No I/O, no UI."""
