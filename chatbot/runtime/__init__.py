"""The processes Loket runs: web workers, background workers, and the supervisor of both."""
