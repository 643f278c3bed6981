"""Render Ground Truth: validation, the temporary render state and the frame loop."""
