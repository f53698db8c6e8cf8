"""Batch scoring: a model version's predictions for a whole data set, file or query, stored as a
new data set version with its lineage.

The order of work keeps a project consistent whatever happens (a failure, Ctrl-C, a full disk):

1. resolve the model and open the input; check that every column the model reads is there
   (one error naming the missing ones before any row is read);
2. read the input in chunks of ``chunk_rows`` rows and score them on threads of this process
   (or on a Dask cluster) while the calling thread reads the next chunk and writes the answered
   ones, in input order, to a Parquet file in ``objects/tmp``; at most ``in_flight`` chunks are
   read and not yet written, so memory does not grow with the input;
3. profile the written file one column at a time, move it to its content address;
4. one write transaction records the version (blob row, version row, audit row).

A cancel, a failure or a full disk in 1-3 removes the temporary file and records nothing.
``docs/scoring.md`` states the rules (typing, invalid values, lineage, drift check).
"""
