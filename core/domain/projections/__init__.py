"""The demo read models (DESIGN.md, "Demo projections") and the fulfilment saga.

`DEMO_PROJECTIONS` are ready-made instances for the projection runner;
`DEMO_SAGAS` the process managers it drives with `react`.
"""

from __future__ import annotations

from ...projections import Projection, Saga
from ..fulfilment_saga import FulfilmentSaga
from .account_balances import AccountBalancesProjection
from .audit_log import AuditLogProjection
from .customer_dashboard import CustomerDashboardProjection
from .order_summary import OrderSummaryProjection
from .sales_analytics import SalesAnalyticsProjection

#: Every demo projection, one instance each, in the order listings show them.
DEMO_PROJECTIONS: list[Projection] = [
    OrderSummaryProjection(),
    CustomerDashboardProjection(),
    SalesAnalyticsProjection(),
    AccountBalancesProjection(),
    AuditLogProjection(),
]

#: The demo's sagas (a saga's state is its view, named like the saga).
DEMO_SAGAS: list[Saga] = [FulfilmentSaga()]

__all__ = [
    "DEMO_PROJECTIONS",
    "DEMO_SAGAS",
    "AccountBalancesProjection",
    "AuditLogProjection",
    "CustomerDashboardProjection",
    "FulfilmentSaga",
    "OrderSummaryProjection",
    "SalesAnalyticsProjection",
]
