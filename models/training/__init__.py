"""Training: data sets, networks, the Lightning module, calibration, feature cache, evaluation."""
