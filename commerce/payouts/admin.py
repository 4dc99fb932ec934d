"""Admin pages of payouts. Bank details are reviewed and withdrawals moved only through the
services (locks, wallet holds, events, notifications): the pages are read-only and their actions
call the services (verify, reject; approve, mark paid, reject), asking for the bank reference or
the reason on an intermediate page."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from core.exceptions import ApplicationError

from commerce.common.admin import ReadOnlyAdmin
from commerce.payouts import services
from commerce.payouts.models import PayoutAccount, Withdrawal


class TextForm(forms.Form):
    """The one text an action needs (a bank reference or a reason)."""

    text = forms.CharField(max_length=300)


def _each(admin_page, request, queryset, run) -> None:
    done = 0
    for obj in queryset:
        try:
            run(obj)
            done += 1
        except ApplicationError as exc:
            admin_page.message_user(request, f"{obj}: {exc.detail}", level=messages.WARNING)
    if done:
        admin_page.message_user(request, f"{done} done.", level=messages.SUCCESS)


def _ask(admin_page, request, queryset, *, action: str, label: str, run):
    """Show the intermediate page asking for ``label``, then ``run(obj, text)`` for each row."""
    if "apply" in request.POST:
        form = TextForm(request.POST)
        if form.is_valid():
            _each(admin_page, request, queryset, lambda obj: run(obj, form.cleaned_data["text"]))
            return None
    else:
        form = TextForm()
    return TemplateResponse(request, "admin/payouts/ask_text.html", {
        **admin_page.admin_site.each_context(request), "title": label, "form": form, "objects": queryset,
        "action": action, "label": label, "opts": admin_page.model._meta,
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
    })


@admin.register(PayoutAccount)
class PayoutAccountAdmin(ReadOnlyAdmin):
    list_display = ("vendor", "holder_name", "iban", "bic", "status", "minimum_amount", "updated_at")
    list_filter = ("status",)
    search_fields = ("vendor__name", "holder_name", "iban")
    actions = ["verify", "reject"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None  # the changelist with its actions, never the edit form

    @admin.action(description="Verify the selected bank details")
    def verify(self, request, queryset):
        _each(self, request, queryset,
              lambda account: services.payout_account_verify(vendor_id=account.vendor_id, actor=request.user))

    @admin.action(description="Reject the selected bank details…")
    def reject(self, request, queryset):
        return _ask(self, request, queryset, action="reject", label="Reason shown to the store",
                    run=lambda account, text: services.payout_account_reject(vendor_id=account.vendor_id,
                                                                             actor=request.user, reason=text))


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = ("id", "vendor", "amount", "currency", "status", "holder_name", "iban", "bank_reference",
                    "created_at")
    list_filter = ("status",)
    search_fields = ("vendor__name", "iban", "bank_reference")
    actions = ["approve", "mark_paid", "reject"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None

    @admin.action(description="Approve the selected withdrawals")
    def approve(self, request, queryset):
        _each(self, request, queryset,
              lambda w: services.withdrawal_approve(withdrawal_id=w.pk, actor=request.user))

    @admin.action(description="Mark the selected withdrawals paid…")
    def mark_paid(self, request, queryset):
        return _ask(self, request, queryset, action="mark_paid", label="Bank transfer reference",
                    run=lambda w, text: services.withdrawal_mark_paid(withdrawal_id=w.pk, actor=request.user,
                                                                      bank_reference=text))

    @admin.action(description="Reject the selected withdrawals…")
    def reject(self, request, queryset):
        return _ask(self, request, queryset, action="reject", label="Reason shown to the store",
                    run=lambda w, text: services.withdrawal_reject(withdrawal_id=w.pk, actor=request.user,
                                                                   reason=text))
