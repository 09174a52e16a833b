"""Supervision: KPIs, quality review, reports, retention and the jobs that run them."""
