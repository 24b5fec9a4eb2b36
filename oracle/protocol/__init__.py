"""The protocol itself, no I/O: parameters, reward math, commitments, sortition, the task URI."""
