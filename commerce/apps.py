from django.apps import AppConfig


class CommerceConfig(AppConfig):
    """Commerce: one app label (``commerce``, tables ``commerce_*``) whose rooms are sub-packages,
    each owning its models, services, selectors, API and topic (``docs/architecture.md``):

    * ``stores`` — vendors, their profile, pickup point, staff (roles, invitations) and life cycle;
    * ``catalog`` — categories, brands, products, stock and price history;
    * ``cart`` — server carts, the ``cart:`` topic, anonymous carts merged at sign-in;
    * ``orders`` — checkout with stock reservations, the order pipeline, the ``vendor:`` topic;
    * ``payments`` — gateways, payments, refunds, webhooks, reconciliation, buyer protection
      (escrow release), auction orders;
    * ``disputes`` — buyers' claims decided by marketplace staff;
    * ``payouts`` — stores' bank details and withdrawals of their earnings;
    * ``wallet`` — wallets, the ledger, holds and escrows (money held).
    """

    name = "commerce"
    verbose_name = "Commerce: stores, catalogue, cart, orders, payments, disputes, payouts, wallet"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from commerce import wiring  # cycle-breaker: the rooms import their models, which need the app registry

        wiring.connect()
