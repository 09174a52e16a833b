"""Loket: a customer-service front desk for chat apps."""
