"""Hooks of the shipping room: what it asks the apps above it (``core.hooks``).

``store_pickup_point(vendor_id) -> (latitude, longitude)`` — where couriers collect the store's
parcels, in decimal degrees (WGS 84): the point a ``courier`` method measures its distance
from. Provided by ``delivery`` (``delivery.services.store_pickup_point``): the store's pickup
point (``commerce.stores.selectors.pickup_coordinates``) with delivery's fallback
``DELIVERY_DEFAULT_PICKUP``, the very point a courier's delivery attempt starts at, so the fee
is measured from where the courier will start.
"""

from core.hooks import Hook


store_pickup_point: Hook = Hook("commerce.shipping.store_pickup_point")
