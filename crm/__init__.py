"""The host CRM: an improveit-style back office for a home-improvement contractor."""
