"""Test scaffolding shared by tests and benchmarks: reference runners (TrackEval's own evaluator),
perturbations of ground truth into tracker-like results, and brute-force references."""
