"""``manage.py reviews_recount``: rebuild every product and store rating from the reviews
(``commerce.reviews.services.ratings_rebuild``) and say how many were wrong."""

from django.core.management.base import BaseCommand

from commerce.reviews.services import ratings_rebuild


class Command(BaseCommand):
    help = "Rebuild the product and store ratings from the counted reviews."

    def handle(self, *args, **options) -> None:
        result = ratings_rebuild()
        self.stdout.write(f"checked {result['products']} products and {result['stores']} stores; "
                          f"corrected {result['corrected']}")
