"""The programme's own figures and the home page."""
