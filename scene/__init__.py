"""Scene-side logic behind the operators: classes, instance IDs and the viewport preview."""
