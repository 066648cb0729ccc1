"""Which runs each notebook needs at each profile: configs, built from tables of settings (presentation of the
experiments, outside every run's code version)."""
