"""Image providers: `gemini` (google-genai) and `classic` (offline augmentation)."""
