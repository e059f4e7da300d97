"""`make bench`: thumbnails, memory, validation, presigning, cold start and HTTP load, side by side.

Not tests: nothing here asserts a timing. `python -m bench` prints one table of medians and
min-max ranges and writes it into docs/benchmarks.md.
"""
