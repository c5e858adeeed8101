"""Reading what a delivery needs from Slack's Web API."""
