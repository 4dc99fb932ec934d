import pytest


@pytest.fixture(autouse=True)
def _invoice_root(settings, tmp_path):
    """Each test keeps its PDFs in its own directory."""
    settings.INVOICE_ROOT = str(tmp_path / "invoices")
