"""The worker pipeline: the one piece of code the local executor and the RunPod
handler both run."""

from bananabatch.worker.pipeline import automatic_generation, run_task, semi_auto_generation

__all__ = ["automatic_generation", "run_task", "semi_auto_generation"]
