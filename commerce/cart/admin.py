"""Admin of carts."""

from django.contrib import admin

from commerce.cart.models import Cart, CartItem


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "version", "currency", "updated_at"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["version", "created_at", "updated_at"]
    inlines = [CartItemInline]


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    list_display = ["cart", "product", "quantity", "updated_at"]
    raw_id_fields = ["cart", "product"]
