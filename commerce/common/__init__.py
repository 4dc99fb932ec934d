"""What the commerce rooms share and nothing else: money values, the small checks every service
makes (a signed-in user, an id, a field error, a free slug), the REST error body and admin bases.
It imports only ``core``; every room may import it (the lowest layer of ``commerce``)."""
