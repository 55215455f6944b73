"""Image tasks: synthetic (with ground-truth masks) and real."""
