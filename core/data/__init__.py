"""Data sets: reading messy files, typing columns, profiling, versioning, diffing, exporting."""
