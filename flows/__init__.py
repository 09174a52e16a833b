"""The procedures as state machines, and the desk profiles that tune them per business."""
