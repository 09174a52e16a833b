"""Outbound caring campaigns (Telkom CT-0 / PRANPC): audiences, sending, opt-out.

A campaign sends an approved WhatsApp template to an imported audience through the same
outbox and channel sends as every reply; replies open cases tied to the campaign.
"""
