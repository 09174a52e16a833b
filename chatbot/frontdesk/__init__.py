"""The front desk: the step service, the stepper, phrases, the outbox and the clocks."""
