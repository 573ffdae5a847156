"""Corral's benchmarks: `make bench` runs them all and records the figures.

Every performance goal in the issues is met (or not) by a figure written here
to `bench/results/`, with the date and the machine — never by a timed test.
"""
