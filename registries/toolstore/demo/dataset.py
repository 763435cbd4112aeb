"""The demo data set behind the shipped banking and insurance tools: fictional, deterministic, money in cents.

Testers' cheat sheet (all people, numbers and merchants are made up):

| customer       | date of birth | phone        | checking (last 4) | savings (last 4) | debit cards (last 4) |
|----------------|---------------|--------------|-------------------|------------------|----------------------|
| Jordan Rivera  | 1985-03-14    | +14255550101 | 4821: $2,450.75   | 9034: $12,800.00 | 4219                 |
| Priya Shah     | 1990-07-02    | +12065550142 | 1177: $318.20     | 5530: $4,200.00  | 7702, 3388           |
| Marcus Chen    | 1978-11-23    | +13125550177 | 6640: $15,120.40  | none             | 9051                 |

Jordan has two transactions flagged as suspicious, Marcus one; Marcus also has a duplicate pizza charge to dispute.

| policy    | kind    | holder         | status | deductible | claims                                  |
|-----------|---------|----------------|--------|------------|-----------------------------------------|
| AU-482913 | auto    | Jordan Rivera  | active | $500       | 7001001 (adjuster assigned)             |
| HO-730155 | home    | Priya Shah     | active | $1,000     | 7001002 (paid, $3,200)                  |
| RE-215566 | renters | Marcus Chen    | active | $250       | none                                    |
| AU-118822 | auto    | Dana Whitfield | lapsed | $1,000     | none (expired 2026-06-30)               |

New claims are numbered from 7001100 upwards.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AccountType = Literal["checking", "savings"]
CardStatus = Literal["active", "locked"]
TransactionStatus = Literal["posted", "confirmed", "fraud", "disputed"]
PolicyKind = Literal["auto", "home", "renters"]
IncidentType = Literal["auto", "home", "theft", "water", "other"]
ClaimStatus = Literal["received", "under_review", "adjuster_assigned", "approved", "paid", "denied"]

DATASET_VERSION = "2026-11-20.1"
FIRST_NEW_CLAIM_NUMBER = 7001100


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Customer(_Model):
    id: str
    full_name: str
    date_of_birth: date
    phone: str = Field(pattern=r"^\+\d{8,15}$")

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0]


class Account(_Model):
    id: str
    customer_id: str
    type: AccountType
    last4: str = Field(pattern=r"^\d{4}$")
    balance_cents: int


class Card(_Model):
    id: str
    customer_id: str
    account_id: str
    last4: str = Field(pattern=r"^\d{4}$")
    network: str
    status: CardStatus = "active"
    lock_reason: str | None = None


class Transaction(_Model):
    id: str
    account_id: str
    posted_at: datetime
    merchant: str
    amount_cents: int = Field(description="Negative for money leaving the account.")
    location: str | None = None
    card_id: str | None = None
    flagged: bool = Field(
        default=False, description="Flagged as suspicious and waiting for the customer's review."
    )
    status: TransactionStatus = "posted"


class Coverage(_Model):
    type: str
    limit_cents: int
    description: str
    deductible_cents: int | None = Field(
        default=None, description="Overrides the policy deductible for this coverage."
    )


class Policy(_Model):
    number: str = Field(pattern=r"^[A-Z]{2}-\d{6}$")
    kind: PolicyKind
    holder_name: str
    holder_phone: str
    insured_item: str
    status: Literal["active", "lapsed"]
    effective_on: date
    expires_on: date
    deductible_cents: int
    coverages: list[Coverage]


class Claim(_Model):
    number: str = Field(pattern=r"^\d{7}$")
    policy_number: str
    incident_type: IncidentType
    incident_date: date
    location: str
    description: str
    status: ClaimStatus = "received"
    filed_on: date
    adjuster: str | None = None
    paid_cents: int | None = None
    next_step: str = "An adjuster will call you within one business day."


class DemoDataset(_Model):
    customers: list[Customer]
    accounts: list[Account]
    cards: list[Card]
    transactions: list[Transaction]
    policies: list[Policy]
    claims: list[Claim]


def _txn(
    tid: str,
    account: str,
    when: str,
    merchant: str,
    cents: int,
    *,
    location: str | None = None,
    card_id: str | None = None,
    flagged: bool = False,
) -> Transaction:
    return Transaction(
        id=tid,
        account_id=account,
        posted_at=datetime.fromisoformat(when),
        merchant=merchant,
        amount_cents=cents,
        location=location,
        card_id=card_id,
        flagged=flagged,
    )


def _cov(kind: str, limit: int, text: str, deductible: int | None = None) -> Coverage:
    return Coverage(type=kind, limit_cents=limit, description=text, deductible_cents=deductible)


def demo_dataset() -> DemoDataset:
    """A fresh copy of the demo data (callers may mutate it freely)."""
    # fmt: off
    return DemoDataset(
        customers=[
            Customer(id="c1", full_name="Jordan Rivera", date_of_birth=date(1985, 3, 14), phone="+14255550101"),
            Customer(id="c2", full_name="Priya Shah", date_of_birth=date(1990, 7, 2), phone="+12065550142"),
            Customer(id="c3", full_name="Marcus Chen", date_of_birth=date(1978, 11, 23), phone="+13125550177"),
        ],
        accounts=[
            Account(id="a1", customer_id="c1", type="checking", last4="4821", balance_cents=245075),
            Account(id="a2", customer_id="c1", type="savings", last4="9034", balance_cents=1280000),
            Account(id="a3", customer_id="c2", type="checking", last4="1177", balance_cents=31820),
            Account(id="a4", customer_id="c2", type="savings", last4="5530", balance_cents=420000),
            Account(id="a5", customer_id="c3", type="checking", last4="6640", balance_cents=1512040),
        ],
        cards=[
            Card(id="k1", customer_id="c1", account_id="a1", last4="4219", network="Visa"),
            Card(id="k2", customer_id="c2", account_id="a3", last4="7702", network="Visa"),
            Card(id="k3", customer_id="c2", account_id="a3", last4="3388", network="Mastercard"),
            Card(id="k4", customer_id="c3", account_id="a5", last4="9051", network="Visa"),
        ],
        transactions=[
            _txn("t101", "a1", "2026-11-12T08:15:00", "Blue Bottle Coffee", -675, location="Seattle", card_id="k1"),
            _txn("t102", "a1", "2026-11-13T18:40:00", "Fresh Market Groceries", -8432, location="Seattle", card_id="k1"),
            _txn("t103", "a1", "2026-11-15T09:00:00", "Contoso Payroll", 310000),
            _txn("t104", "a1", "2026-11-17T03:12:00", "ElectroMart Online", -89999, location="Miami", card_id="k1", flagged=True),
            _txn("t105", "a1", "2026-11-17T03:25:00", "QuickFuel Station", -7500, location="Orlando", card_id="k1", flagged=True),
            _txn("t106", "a1", "2026-11-18T12:05:00", "City Power and Light", -11240),
            _txn("t201", "a2", "2026-11-01T00:00:00", "Interest payment", 1067),
            _txn("t301", "a3", "2026-11-10T19:20:00", "Northwind Pharmacy", -2315, location="Tacoma", card_id="k2"),
            _txn("t302", "a3", "2026-11-14T13:00:00", "Streamly Subscription", -1599, card_id="k3"),
            _txn("t303", "a3", "2026-11-16T17:45:00", "Harbor Books", -3860, location="Tacoma", card_id="k2"),
            _txn("t401", "a4", "2026-11-01T00:00:00", "Interest payment", 350),
            _txn("t501", "a5", "2026-11-11T20:30:00", "Bella Pizza", -4250, location="Chicago", card_id="k4"),
            _txn("t502", "a5", "2026-11-11T20:31:00", "Bella Pizza", -4250, location="Chicago", card_id="k4"),
            _txn("t503", "a5", "2026-11-14T10:10:00", "Lakeside Hardware", -12999, location="Chicago", card_id="k4"),
            _txn("t504", "a5", "2026-11-19T02:50:00", "LuxeWatch Boutique", -249500, location="Las Vegas", card_id="k4", flagged=True),
        ],
        policies=[
            Policy(
                number="AU-482913", kind="auto", holder_name="Jordan Rivera", holder_phone="+14255550101",
                insured_item="2021 Toyota RAV4", status="active", effective_on=date(2026, 2, 1),
                expires_on=date(2027, 1, 31), deductible_cents=50000,
                coverages=[
                    _cov("liability", 30000000, "bodily injury and property damage you cause to others"),
                    _cov("collision", 3500000, "damage to your car from a collision, up to its actual cash value"),
                    _cov("comprehensive", 3500000, "theft, glass, fire, hail and animal damage to your car", 25000),
                    _cov("uninsured_motorist", 10000000, "injuries caused by a driver without insurance"),
                    _cov("rental", 90000, "a rental car while yours is repaired, up to 30 dollars a day"),
                    _cov("roadside", 15000, "towing, jump starts, flat tires and lockouts"),
                ],
            ),
            Policy(
                number="HO-730155", kind="home", holder_name="Priya Shah", holder_phone="+12065550142",
                insured_item="14 Birch Lane, Redmond", status="active", effective_on=date(2026, 4, 15),
                expires_on=date(2027, 4, 14), deductible_cents=100000,
                coverages=[
                    _cov("dwelling", 45000000, "the structure of your home"),
                    _cov("personal_property", 22500000, "your belongings, at home or away"),
                    _cov("liability", 30000000, "injuries or damage you cause to others"),
                    _cov("loss_of_use", 9000000, "extra living costs if your home cannot be lived in"),
                    _cov("water_backup", 1000000, "water that backs up through drains or a sump pump"),
                ],
            ),
            Policy(
                number="RE-215566", kind="renters", holder_name="Marcus Chen", holder_phone="+13125550177",
                insured_item="Apartment 5B, 220 Lake Street, Chicago", status="active",
                effective_on=date(2026, 9, 1), expires_on=date(2027, 8, 31), deductible_cents=25000,
                coverages=[
                    _cov("personal_property", 3000000, "your belongings, including theft away from home"),
                    _cov("liability", 10000000, "injuries or damage you cause to others"),
                    _cov("loss_of_use", 900000, "extra living costs if your apartment cannot be lived in"),
                ],
            ),
            Policy(
                number="AU-118822", kind="auto", holder_name="Dana Whitfield", holder_phone="+15035550199",
                insured_item="2015 Honda Civic", status="lapsed", effective_on=date(2025, 7, 1),
                expires_on=date(2026, 6, 30), deductible_cents=100000,
                coverages=[_cov("liability", 5000000, "bodily injury and property damage you cause to others")],
            ),
        ],
        claims=[
            Claim(
                number="7001001", policy_number="AU-482913", incident_type="auto", incident_date=date(2026, 10, 26),
                location="Northeast 8th Street, Bellevue", description="Rear-ended while stopped at a red light.",
                status="adjuster_assigned", filed_on=date(2026, 10, 27), adjuster="Sam Patel",
                next_step="Sam Patel will inspect the car at the body shop this week.",
            ),
            Claim(
                number="7001002", policy_number="HO-730155", incident_type="water", incident_date=date(2026, 9, 3),
                location="14 Birch Lane, Redmond", description="The dishwasher leaked and damaged the kitchen floor.",
                status="paid", filed_on=date(2026, 9, 4), adjuster="Lee Morgan", paid_cents=320000,
                next_step="The claim is closed; the payment was sent by direct deposit.",
            ),
        ],
    )
    # fmt: on
