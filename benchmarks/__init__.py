"""Benchmarks of keras-leaky's layers, as ratios to `keras.ReLU` measured in the same run.

Run from the repository root, as modules (`python -m benchmarks.run`):

- `cases`: what is measured, one table;
- `protocol`: how a measurement runs (one worker process, one JSON line back);
- `op_timings`, `fit_step`, `model_memory`: the three measurements, each a worker;
- `run`: runs them on each backend and writes `benchmarks/results/cpu.json`;
- `report`: renders that file as the README's tables; `plot`: as a chart;
- `dead_unit_monitor_overhead`: `DeadUnitMonitor`'s cost, on its own.
"""
