"""The composition root: the `shopassist` CLI, settings, and (later) the Gradio app."""
