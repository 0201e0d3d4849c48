"""Executors run TaskPayloads somewhere (in-process pool, RunPod, ...)."""
