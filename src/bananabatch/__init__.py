"""BananaBatch: batch image generation with Nano Banana (Gemini image models)."""

__version__ = "0.1.0"
