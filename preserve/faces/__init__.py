"""Face detection, alignment and embedding for the face-preservation plugin."""
