"""The agent desk: the queue, taking over, replies, transfers, escalations, team alerts."""
