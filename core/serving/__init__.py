"""Serving a fitted pipeline. Imports only flask, waitress, numpy, pandas, scikit-learn, joblib
and its own modules, so the package can be copied into an exported bundle and run there."""
