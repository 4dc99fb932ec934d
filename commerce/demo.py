"""Commerce demo data (run by ``manage.py seed_demo``): two active auto-parts stores and a
pending one, a three-level category tree, brands and 240 products with stock, prices, JSON
attributes, weights and packed dimensions; each store's shipping zones and methods (flat,
weight bands, free above a basket value, a Berlin courier by distance) and tax settings (one
store enters prices with tax, one without; the EU rates come with migration
``0005_tax_rates_eu_2025``); verified bank details and a paid withdrawal
(``commerce.payouts.demo``). Deterministic (seeded per store) and idempotent (natural keys:
vendor slug, category slug per parent, brand slug, SKU per vendor, zone and method names)."""

from __future__ import annotations

import io
import math
import random
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw, ImageOps
from django.utils.text import slugify

from core.models import Role

from commerce.cart.services import cart_add_item, cart_clear, cart_get
from commerce.catalog.media import product_image_upload
from commerce.catalog.models import Brand, Category, Product
from commerce.orders import checkout
from commerce.orders.models import Order
from commerce.orders.services import order_transition
from commerce.payouts.demo import seed_payouts
from commerce.payments.services import payment_create
from commerce.shipping.models import ShippingMethod, ShippingWeightBand, ShippingZone
from commerce.stores.models import Vendor, VendorStaff, VendorStaffRole, VendorStatus
from commerce.tax.models import StoreTaxSettings
from commerce.wallet.models import LedgerEntry, LedgerKind
from commerce.wallet.services import wallet_credit

PRODUCTS_PER_VENDOR = 120

#: short name -> (store name, slug, status, description, SKU prefix)
STORES: dict[str, tuple[str, str, str, str, str]] = {
    "vendor1": ("Rapid Auto Parts", "rapid-auto-parts", VendorStatus.ACTIVE,
                "OEM and aftermarket parts, shipped the same day.", "RAP"),
    "vendor2": ("Euro Motor Supply", "euro-motor-supply", VendorStatus.ACTIVE,
                "Brakes, suspension and electrics for European cars.", "EMS"),
    "vendor3": ("Garage Bits", "garage-bits", VendorStatus.PENDING, "Used and refurbished parts.", "GB"),
}

#: root -> {sub -> [(leaf, price range EUR, brands, leaf attributes)]}
TREE: dict[str, dict[str, list[tuple[str, tuple[int, int], list[str], dict[str, list[Any]]]]]] = {
    "Engine": {
        "Filters": [
            ("Oil filters", (6, 25), ["Mann-Filter", "Mahle", "Bosch"], {"thread": ["M20x1.5", "3/4-16 UNF"], "height_mm": [65, 75, 86]}),
            ("Air filters", (9, 40), ["Mann-Filter", "Mahle", "Bosch"], {"shape": ["panel", "round"]}),
            ("Fuel filters", (12, 55), ["Mann-Filter", "Bosch"], {"fuel": ["petrol", "diesel"]}),
        ],
        "Ignition": [
            ("Spark plugs", (4, 22), ["NGK", "Bosch", "Denso"], {"electrode": ["nickel", "platinum", "iridium"], "gap_mm": [0.7, 0.8, 1.0]}),
            ("Ignition coils", (25, 120), ["Bosch", "Valeo", "Denso"], {"connector_pins": [3, 4]}),
        ],
        "Belts and chains": [
            ("Timing belt kits", (60, 260), ["Gates", "Contitech", "INA"], {"teeth": [120, 137, 150]}),
            ("Serpentine belts", (12, 45), ["Gates", "Contitech"], {"ribs": [5, 6, 7]}),
        ],
    },
    "Brakes": {
        "Brake system": [
            ("Brake pads", (18, 90), ["Brembo", "ATE", "TRW", "Bosch"], {"position": ["front", "rear"], "wear_indicator": [True, False]}),
            ("Brake discs", (30, 180), ["Brembo", "ATE", "TRW"], {"position": ["front", "rear"], "diameter_mm": [256, 280, 312, 340]}),
            ("Brake fluid", (6, 24), ["ATE", "Bosch"], {"standard": ["DOT 4", "DOT 5.1"], "volume_l": [0.5, 1]}),
        ],
    },
    "Suspension": {
        "Dampers and springs": [
            ("Shock absorbers", (45, 210), ["Sachs", "Bilstein", "KYB"], {"position": ["front", "rear"], "type": ["gas", "oil"]}),
            ("Coil springs", (25, 95), ["Sachs", "Eibach", "KYB"], {"position": ["front", "rear"]}),
        ],
    },
    "Electrical": {
        "Batteries and charging": [
            ("Car batteries", (70, 260), ["Varta", "Bosch", "Exide"], {"capacity_ah": [60, 70, 80, 95], "voltage_v": [12]}),
            ("Alternators", (120, 420), ["Bosch", "Valeo", "Denso"], {"output_a": [90, 120, 150]}),
        ],
        "Lighting": [
            ("Headlight bulbs", (5, 45), ["Osram", "Philips"], {"socket": ["H1", "H4", "H7", "H11"], "color": ["warm white", "white", "cool white"]}),
            ("LED bulbs", (12, 70), ["Osram", "Philips"], {"socket": ["H7", "W5W", "P21W"], "color": ["white", "cool white", "amber"]}),
        ],
    },
}

VEHICLES = [
    "VW Golf VII", "VW Passat B8", "BMW 3 Series F30", "Audi A4 B9", "Ford Focus III", "Opel Astra K",
    "Skoda Octavia III", "Toyota Corolla E210", "Renault Clio IV", "Peugeot 308 II", "Mercedes C-Class W205",
]
MATERIALS = ["steel", "aluminium", "rubber", "ceramic", "composite", "cast iron", "paper", "plastic"]

#: leaf category slug -> (weight g, length, width, height mm) of one packed unit
PARCELS: dict[str, tuple[int, int, int, int]] = {
    "oil-filters": (400, 100, 100, 110), "air-filters": (600, 300, 200, 60), "fuel-filters": (500, 200, 90, 90),
    "spark-plugs": (60, 100, 30, 30), "ignition-coils": (500, 150, 80, 80),
    "timing-belt-kits": (2500, 350, 250, 100), "serpentine-belts": (300, 250, 150, 40),
    "brake-pads": (1800, 200, 150, 80), "brake-discs": (7500, 330, 330, 60), "brake-fluid": (1100, 200, 100, 100),
    "shock-absorbers": (3500, 600, 120, 120), "coil-springs": (4000, 400, 180, 180),
    "car-batteries": (17000, 280, 180, 190), "alternators": (6000, 250, 200, 200),
    "headlight-bulbs": (100, 120, 70, 50), "led-bulbs": (120, 120, 70, 50),
}

EU_NEIGHBOURS = ["AT", "BE", "ES", "FR", "IT", "NL", "PL"]

#: store short name -> (prices include tax, [(zone name, zone fields, [(method name, fields, bands)])]);
#: DHL-like weight bands (g, EUR), the couriers' volumetric divisor 5000 cm³/kg
SHIPPING: dict[str, tuple[bool, list[tuple[str, dict[str, Any], list[tuple[str, dict[str, Any], list]]]]]] = {
    "vendor1": (True, [
        ("Berlin", {"countries": ["DE"], "postcodes": ["10*", "12*", "13*", "14*"]}, [
            ("Same-day courier", {"rule": "courier", "price": "4.90", "price_per_km": "0.80", "max_distance_m": 25_000,
                                  "min_days": 0, "max_days": 0, "position": 0}, []),
        ]),
        ("Germany", {"countries": ["DE"]}, [
            ("Parcel (DHL)", {"rule": "weight", "volumetric_divisor": 5000, "free_above": "150.00", "min_days": 1,
                              "max_days": 3, "position": 1},
             [(2000, "4.99"), (5000, "6.99"), (10000, "9.49"), (31500, "16.49")]),
        ]),
        ("EU neighbours", {"countries": EU_NEIGHBOURS}, [
            ("Parcel EU", {"rule": "weight", "volumetric_divisor": 5000, "min_days": 3, "max_days": 6, "position": 2},
             [(2000, "13.99"), (5000, "18.99"), (10000, "24.99"), (31500, "39.99")]),
        ]),
    ]),
    "vendor2": (False, [
        ("Germany and Austria", {"countries": ["DE", "AT"]}, [
            ("Standard", {"rule": "flat", "price": "5.90", "free_above": "75.00", "min_days": 2, "max_days": 4,
                          "position": 0}, []),
            ("Express", {"rule": "flat", "price": "14.90", "min_days": 1, "max_days": 1, "position": 1}, []),
        ]),
        ("Rest of the world", {"rest_of_world": True}, [
            ("International", {"rule": "flat", "price": "24.90", "min_days": 5, "max_days": 12, "position": 2}, []),
        ]),
    ]),
    "vendor3": (True, [
        ("Germany", {"countries": ["DE"]}, [
            ("Standard", {"rule": "flat", "price": "6.50", "min_days": 2, "max_days": 5}, []),
        ]),
    ]),
}


def _seed_stores(ctx) -> None:
    for short, (name, slug, status, description, _prefix) in STORES.items():
        owner = ctx.users[short]
        vendor, created = Vendor.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "owner": owner, "status": status, "description": description,
                      "status_changed_at": timezone.now() if status != VendorStatus.PENDING else None},
        )
        ctx.count("vendors", int(created))
        _, made = VendorStaff.objects.get_or_create(vendor=vendor, user=owner, defaults={"role": VendorStaffRole.OWNER})
        ctx.count("vendor staff", int(made))
        if vendor.status == VendorStatus.ACTIVE and Role.VENDOR not in owner.roles:
            owner.roles = [*owner.roles, Role.VENDOR]
            owner.save(update_fields=["roles"])
        ctx.vendors[short] = vendor


def _category(ctx, parent: Category | None, name: str, position: int) -> Category:
    cat, created = Category.objects.get_or_create(
        parent=parent, slug=slugify(name), defaults={"name": name, "position": position}
    )
    ctx.count("categories", int(created))
    return cat


def _seed_catalogue(ctx) -> list[tuple[Category, tuple[int, int], list[Brand], dict[str, list[Any]]]]:
    brands: dict[str, Brand] = {b.slug: b for b in Brand.objects.all()}
    leaves = []
    for i, (root_name, subs) in enumerate(TREE.items()):
        root = _category(ctx, None, root_name, i)
        for j, (sub_name, leaf_specs) in enumerate(subs.items()):
            sub = _category(ctx, root, sub_name, j)
            for k, (leaf_name, price_range, brand_names, attrs) in enumerate(leaf_specs):
                leaf = _category(ctx, sub, leaf_name, k)
                leaf_brands = []
                for bname in brand_names:
                    slug = slugify(bname)
                    if slug not in brands:
                        brands[slug] = Brand.objects.create(name=bname, slug=slug)
                        ctx.count("brands", 1)
                    leaf_brands.append(brands[slug])
                leaves.append((leaf, price_range, leaf_brands, attrs))
    return leaves


def _seed_products(ctx, vendor: Vendor, prefix: str, leaves) -> int:
    rng = random.Random(f"demo-products-{vendor.slug}")  # independent of what already exists
    have = set(Product.objects.filter(vendor=vendor).values_list("sku", flat=True))
    products = []
    for n in range(1, PRODUCTS_PER_VENDOR + 1):
        leaf, (lo, hi), brands, leaf_attrs = leaves[(n - 1) % len(leaves)]
        brand = rng.choice(brands)
        sku = f"{prefix}-{n:04d}"
        model_code = f"{rng.choice('ABCDEFGHKLMPRSTX')}{rng.randint(100, 9999)}"
        singular = leaf.name[:-1] if leaf.name.endswith("s") else leaf.name
        name = f"{brand.name} {singular} {model_code}"
        price = (Decimal(rng.randint(lo * 100, hi * 100)) / 100).quantize(Decimal("0.01"))
        stock = 0 if rng.random() < 0.08 else rng.randint(1, 150)
        attributes: dict[str, Any] = {
            "brand": brand.name,
            "fits": sorted(rng.sample(VEHICLES, rng.randint(1, 4))),
            "material": rng.choice(MATERIALS),
            "condition": "new",
            "warranty_months": rng.choice([12, 24, 36]),
        }
        for key, choices in leaf_attrs.items():
            attributes[key] = rng.choice(choices)
        if sku in have:
            continue
        weight, length, width, height = PARCELS.get(leaf.slug, (500, 200, 150, 100))
        product = Product(
            vendor=vendor, category=leaf, brand=brand, name=name, slug=slugify(f"{name}-{sku}"), sku=sku,
            description=f"{name} for {', '.join(attributes['fits'])}. {attributes['material'].capitalize()}.",
            price=price, currency="EUR", stock=stock, attributes=attributes, is_active=True,
            weight_g=weight, length_mm=length, width_mm=width, height_mm=height,
        )
        products.append(product)
    Product.objects.bulk_create(products, batch_size=500)
    return len(products)


#: how many products of each active store get generated photos, and how many each
DEMO_PHOTOGRAPHED, DEMO_PHOTOS_EACH = 3, 2


def demo_photo(*, label: str, seed: str, side: int = 960) -> bytes:
    """A generated product photo (JPEG, ``side`` x ``side * 3 // 4`` pixels): a gradient studio
    background in colours drawn from ``seed``, a shaded part silhouette and ``label``. Made here,
    so the demo ships no third-party image."""
    rng = random.Random(seed)
    width, height = side, side * 3 // 4
    top = tuple(rng.randint(150, 240) for _ in range(3))
    bottom = tuple(max(0, c - rng.randint(60, 110)) for c in top)
    image = ImageOps.colorize(Image.linear_gradient("L").resize((width, height)), black=top, white=bottom)
    draw = ImageDraw.Draw(image)
    part = tuple(rng.randint(20, 90) for _ in range(3))
    cx, cy, r = width // 2, height // 2, min(width, height) // 3
    draw.ellipse([cx - r + 18, cy - r + 24, cx + r + 18, cy + r + 24], fill=(30, 30, 30))  # shadow
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=part, outline=(230, 230, 230), width=6)
    inner = r // 3
    draw.ellipse([cx - inner, cy - inner, cx + inner, cy + inner], fill=top)
    holes = rng.choice([4, 5, 6])
    for k in range(holes):  # bolt holes
        angle = 2 * math.pi * k / holes
        bx, by = cx + int(r * 0.65 * math.cos(angle)), cy + int(r * 0.65 * math.sin(angle))
        draw.ellipse([bx - 14, by - 14, bx + 14, by + 14], fill=(200, 200, 200))
    draw.text((24, height - 48), label, fill=(255, 255, 255), font_size=28)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


def _seed_photos(ctx, vendor: Vendor) -> int:
    """Generated photos for the first products of ``vendor`` (by SKU) unless they have some, uploaded through
    the media service as its owner would (re-encoded, thumbnails, primary)."""
    made = 0
    for product in Product.objects.filter(vendor=vendor).order_by("sku")[:DEMO_PHOTOGRAPHED]:
        if product.images.exists():  # seeded before
            continue
        for k in range(DEMO_PHOTOS_EACH):
            data = demo_photo(label=f"{product.sku} · view {k + 1}", seed=f"{product.sku}-{k}")
            product_image_upload(user=vendor.owner, product_id=product.pk, alt_text=f"{product.name}, view {k + 1}",
                                 file=SimpleUploadedFile(f"{product.sku}-{k + 1}.jpg", data, content_type="image/jpeg"))
            made += 1
    return made


def seed(ctx) -> None:
    """Seed stores, categories, brands and products into ``ctx`` (see ``seed_demo``)."""
    _seed_stores(ctx)
    leaves = _seed_catalogue(ctx)
    made = 0
    for short, (_name, _slug, status, _desc, prefix) in STORES.items():
        if status == VendorStatus.ACTIVE:
            made += _seed_products(ctx, ctx.vendors[short], prefix, leaves)
            ctx.count("product photos", _seed_photos(ctx, ctx.vendors[short]))
    ctx.count("products", made)
    _seed_parcels(ctx)
    _seed_shipping_and_tax(ctx)
    _seed_money_and_orders(ctx)
    seed_payouts(ctx)
    active = [v.name for v in ctx.vendors.values() if v.status == VendorStatus.ACTIVE]
    ctx.summary.append(
        f"Stores: {', '.join(active)} (active), "
        + ", ".join(v.name for v in ctx.vendors.values() if v.status != VendorStatus.ACTIVE)
        + f" (pending); {Category.objects.count()} categories, {Brand.objects.count()} brands, "
        f"{Product.objects.alive().count()} products"
    )


def _seed_parcels(ctx) -> None:
    """Weights and packed dimensions for demo products that have none (seeded before products
    had them)."""
    for vendor in ctx.vendors.values():
        for slug, (weight, length, width, height) in PARCELS.items():
            Product.objects.filter(vendor=vendor, category__slug=slug, weight_g__isnull=True).update(
                weight_g=weight, length_mm=length, width_mm=width, height_mm=height)


def _seed_shipping_and_tax(ctx) -> None:
    """Each demo store's tax settings, zones and methods (:data:`SHIPPING`), once."""
    for short, (include_tax, zones) in SHIPPING.items():
        vendor = ctx.vendors.get(short)
        if vendor is None:
            continue
        StoreTaxSettings.objects.get_or_create(vendor=vendor, defaults={"prices_include_tax": include_tax})
        for zone_name, zone_fields, methods in zones:
            zone, _ = ShippingZone.objects.get_or_create(vendor=vendor, name=zone_name, defaults=zone_fields)
            for method_name, fields, bands in methods:
                method, created = ShippingMethod.objects.get_or_create(vendor=vendor, zone=zone, name=method_name,
                                                                       defaults=fields)
                ctx.count("shipping methods", int(created))
                if created:
                    ShippingWeightBand.objects.bulk_create(
                        [ShippingWeightBand(method=method, max_weight_g=w, price=Decimal(p)) for w, p in bands])
    ctx.summary.append("Shipping: Rapid Auto Parts (courier in Berlin, weight bands in DE and the EU, prices with "
                       "tax), Euro Motor Supply (flat DE/AT, free above 75.00, worldwide; prices without tax)")


def _seed_money_and_orders(ctx) -> None:
    """Every demo buyer gets 500.00 EUR in the wallet once; buyer2 gets one paid order from the
    first active store, moved to ``processing`` (through the real services: checkout, wallet
    payment, vendor transition), so the order screens and the vendor desk are not empty."""
    for short in ("buyer1", "buyer2", "buyer3"):
        user = ctx.users.get(short)
        if user is None or LedgerEntry.objects.filter(wallet__user=user, reference="demo:welcome").exists():
            continue
        wallet_credit(user=user, amount=Decimal("500.00"), currency="EUR", kind=LedgerKind.DEPOSIT,
                             reference="demo:welcome", memo="Demo welcome credit")
        ctx.count("wallet deposits", 1)
    buyer = ctx.users.get("buyer2")
    vendor = ctx.vendors.get("vendor1")
    if buyer is None or vendor is None or Order.objects.filter(buyer=buyer).exists():
        return
    product = Product.objects.public().filter(vendor=vendor, stock__gte=5).order_by("sku").first()
    if product is None:
        return
    order = paid_order(buyer=buyer, product=product)
    order_transition(user=vendor.owner, order_id=order.id, to_status="processing")
    ctx.count("orders", 1)
    ctx.summary.append(f"Wallets: 500.00 EUR for each demo buyer; order {order.number} (buyer2, processing)")


def paid_order(*, buyer, product: Product, method: str = "wallet", card_token: str = ""):
    """Demo and simulation data: ``buyer`` buys one ``product`` the way the app does (their cart
    is replaced by it, checkout with the cheapest shipping method the cart offers, payment by
    ``method``: ``wallet``, or ``card`` with a test gateway ``card_token``) and gets the paid :class:`commerce.orders.models.Order`. Raises what the
    services raise (``insufficient_stock``, ``insufficient_funds``, ``card_declined``...)."""
    cart_clear(user=buyer)
    cart_add_item(user=buyer, product_id=product.pk, quantity=1)
    stores = cart_get(user=buyer).data["shipping"]["stores"]
    choice = {s["vendor_id"]: s["methods"][0]["id"] for s in stores if s["methods"]}  # the cheapest offered
    order = checkout.checkout_create(buyer=buyer, shipping_methods=choice).orders.get()
    payment_create(user=buyer, order_id=order.id, method=method, card_token=card_token)
    return order
