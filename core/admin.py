"""Django admin of accounts: users (email login, a set of roles) and saved addresses.

``is_active`` is read-only on the user form: ban (deactivate) and reactivate with the list actions,
which go through :func:`core.services.user_set_active` so a ban also blacklists the user's refresh
tokens and closes the user's WebSockets with 4401.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest

from core import services
from core.exceptions import ApplicationError
from core.models import Address, IdempotencyKey, Role, User


def _roles_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple, help_text="A user may hold several."
    )


def _clean_unique_email(form: forms.ModelForm) -> str:
    email = services.normalize_email(form.cleaned_data.get("email", ""))
    taken = User.objects.filter(email__iexact=email)
    if form.instance.pk:
        taken = taken.exclude(pk=form.instance.pk)
    if email and taken.exists():
        raise forms.ValidationError("An account with this email already exists.", code="email_taken")
    return email


class AccountCreationForm(AdminUserCreationForm):
    """Admin "add user" form: email (unique case-insensitively), display name, roles, password."""

    roles = _roles_field()

    class Meta:
        model = User
        fields = ("email", "display_name", "roles")

    def clean_email(self) -> str:
        return _clean_unique_email(self)


class AccountChangeForm(UserChangeForm):
    """Admin "change user" form with roles as checkboxes."""

    roles = _roles_field()

    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        return _clean_unique_email(self)


class RoleListFilter(admin.SimpleListFilter):
    """Filter users holding one role."""

    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        if self.value() in Role.values:
            return queryset.filter(roles__contains=[self.value()])
        return queryset


class AddressInline(admin.TabularInline):
    """The user's addresses, read-only (edit them on the address admin)."""

    model = Address
    extra = 0
    fields = ("label", "full_name", "line1", "city", "postal_code", "country", "is_default_shipping", "is_default_billing")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users by email with roles; ban/reactivate actions go through ``user_set_active``."""

    form = AccountChangeForm
    add_form = AccountCreationForm
    ordering = ("-date_joined",)
    list_display = ("email", "display_name", "roles", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = (RoleListFilter, "is_active", "is_staff", "is_superuser")
    search_fields = ("email", "display_name", "phone")
    readonly_fields = ("id", "is_active", "date_joined", "last_login")
    filter_horizontal = ("groups", "user_permissions")
    inlines = [AddressInline]
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("display_name", "phone", "roles")}),
        (
            "Access",
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": "Ban or reactivate with the actions of the user list.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "display_name", "roles", "usable_password", "password1", "password2"),
            },
        ),
    )
    actions = ["ban_users", "reactivate_users"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # no addresses on the "add user" page

    def _set_active(self, request: HttpRequest, queryset: QuerySet[User], *, is_active: bool) -> None:
        done, refused = 0, []
        for user in queryset:
            try:
                services.user_set_active(user=user, is_active=is_active, by=request.user)
                done += 1
            except ApplicationError as exc:
                refused.append(f"{user.email}: {exc.detail}")
        verb = "reactivated" if is_active else "banned"
        if done:
            self.message_user(request, f"{done} user(s) {verb}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description="Ban (deactivate, sign out, close sockets)", permissions=["change"])
    def ban_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, is_active=False)

    @admin.action(description="Reactivate", permissions=["change"])
    def reactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_active(request, queryset, is_active=True)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    """Saved addresses (at most one default shipping/billing per user, enforced by constraints)."""

    list_display = ("full_name", "user", "city", "country", "is_default_shipping", "is_default_billing", "created_at")
    list_filter = ("country", "is_default_shipping", "is_default_billing")
    search_fields = ("full_name", "line1", "city", "postal_code", "user__email")
    autocomplete_fields = ("user",)
    readonly_fields = ("id", "created_at")
    list_select_related = ("user",)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Read-only view of stored idempotency keys (for support: "did my payment go through?")."""

    list_display = ("key", "scope", "user", "status", "response_status", "created_at")
    list_filter = ("scope", "status")
    search_fields = ("key", "user__email")
    readonly_fields = [f.name for f in IdempotencyKey._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
