"""The stages of one training cell, each doing one job; `xaibench.cell.CellWorker` composes them.

- `data.TaskData`: loads each task's splits once per worker.
- `train.TrainStage`: a new model, fitted by the training method or loaded from given weights.
- `explain.ExplainStage`: predictions, and attributions of the evaluation subset (or the given ones).
- `score.ScoreStage`: the plain metrics, then the retraining ones (ROAR, KAR) through a `RetrainingContext`.
- `record.RecordStage`: every record with its provenance (`xaibench.record`'s constructors).
"""
