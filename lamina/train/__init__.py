"""The training layer: the Learner and its loop, callbacks, metrics and losses."""
