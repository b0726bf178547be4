"""Reading report files: decoding, validating, sealing, identifying and loading them."""
