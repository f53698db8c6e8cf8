"""The Experiments page: the New run form, the runs table with live progress, a run's detail."""
