"""Experiments: training runs, what they measure, and how runs compare."""
