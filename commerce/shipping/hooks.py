"""Hooks of the shipping room: what it asks the apps above it (``core.hooks``).

``store_pickup_point(vendor_id) -> (latitude, longitude)`` — where couriers collect the store's
parcels, in decimal degrees (WGS 84): the point a ``courier`` method measures its distance
from. Provided by ``delivery`` (``delivery.services.store_pickup_point``), which owns pickup
points today, so the fee is measured from the very point the courier will start at. One
provider, wherever the point lives: when the stores room keeps it, the provider changes and
this room does not.
"""

from core.hooks import Hook


store_pickup_point: Hook = Hook("commerce.shipping.store_pickup_point")
