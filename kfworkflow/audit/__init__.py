"""Audit of the decision log: verify the hash chain, replay decisions under the rules they
record, explain a decision, evaluate history under other rules (what-if), export and check
exports offline. Reads only; nothing here writes to the log."""
