"""The web application: app factory, base layout, static assets, error pages, health checks."""
