"""Fine-tuning, evaluation and scoring benchmarks for finmon's multi-task model (`finmon train|eval|bench scorer`)."""
