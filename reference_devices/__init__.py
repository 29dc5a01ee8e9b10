"""Reference devices of samd: synthetic cohorts and the training of the shipped example models."""
