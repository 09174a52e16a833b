"""The web side: webhooks, the browser chat, and (later) the agent and admin pages."""
